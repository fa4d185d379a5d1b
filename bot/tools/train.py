"""Train the assistant only when its inputs changed.

The model is named by a SHA-256 of ``config.yml``, ``domain.yml``, every
file under ``data/``, the pipeline's own components (``components/``) and the
sentence encoder they read (``encoder/``, from ``make bot-encoder``): paths
and contents. The run command and the tests reuse
``bot/models/<hash>.tar.gz`` until one of them changes. Prints the model's
path. Runs under the bot's Python: ``bot/.venv/bin/python bot/tools/train.py``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent
ENCODER = BOT / "encoder"


def inputs_hash() -> str:
    digest = hashlib.sha256()
    files = [
        BOT / "config.yml",
        BOT / "domain.yml",
        *sorted((BOT / "data").rglob("*")),
        *sorted((BOT / "components").rglob("*.py")),
        # an export cut short leaves a .partial file, never loaded
        *sorted(p for p in ENCODER.glob("*") if p.suffix != ".partial"),
    ]
    for path in files:
        if path.is_file():
            digest.update(str(path.relative_to(BOT)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def ensure_model() -> Path:
    """The model for the current inputs, trained now if there is none."""
    if not (ENCODER / "source.txt").exists():
        sys.exit(
            f"{ENCODER} is missing: export the sentence encoder first with "
            "`make bot-encoder` (.venv/bin/python bot/tools/export_encoder.py)"
        )
    name = inputs_hash()
    model = BOT / "models" / f"{name}.tar.gz"
    if model.exists():
        return model
    rasa = Path(sys.executable).with_name("rasa")
    # Rasa's own training cache was seen to reuse a trained classifier after
    # its data changed: each model is trained from its inputs alone.
    cache = tempfile.mkdtemp(prefix="rasa-cache-")
    subprocess.run(
        [
            str(rasa),
            "train",
            "--config",
            "config.yml",
            "--domain",
            "domain.yml",
            "--data",
            "data",
            "--out",
            "models",
            "--fixed-model-name",
            name,
        ],
        cwd=BOT,
        check=True,
        env={**os.environ, "RASA_CACHE_DIRECTORY": cache},
    )
    shutil.rmtree(cache, ignore_errors=True)
    prune(keep=model)
    return model


def prune(keep: Path, kept: int = 3) -> None:
    """Drop all but the newest few models (each is about 30 MB)."""
    older = sorted(
        (m for m in keep.parent.glob("*.tar.gz") if m != keep),
        key=lambda m: m.stat().st_mtime,
        reverse=True,
    )
    for model in older[kept - 1 :]:
        model.unlink(missing_ok=True)


if __name__ == "__main__":
    print(ensure_model())
