"""all-MiniLM-L6-v2 on ONNX Runtime: sentence vectors and word vectors.

The graph ``bot/tools/export_encoder.py`` exports from the packaged model
(``matching.encoder.export_onnx`` with ``tokens``: the sentence embedding
matching uses, mean pooled and L2-normalised, and each word piece's
contextual vector) and the model's own WordPiece tokenizer. Needs only
``onnxruntime``, ``tokenizers`` and numpy, and never the network; Rasa's
component is ``components.minilm.MiniLMFeaturizer``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ENCODER_DIR = Path(__file__).resolve().parent.parent / "encoder"
GRAPH_FILE = "minilm.onnx"
TOKENIZER_FILE = "tokenizer.json"
OUTPUTS = ["embedding", "tokens"]
DIMENSION = 384
MAX_TOKENS = 256


class EncoderMissing(RuntimeError):
    """The exported encoder is not where it is expected."""


class MiniLM:
    """The exported graph and its tokenizer, loaded once."""

    def __init__(self, directory: Path = ENCODER_DIR, threads: int = 1):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        graph, vocab = directory / GRAPH_FILE, directory / TOKENIZER_FILE
        if not graph.exists() or not vocab.exists():
            raise EncoderMissing(
                f"{graph} or {vocab} is missing: export the encoder with "
                "`make bot-encoder` (.venv/bin/python bot/tools/export_encoder.py)"
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(graph), options, providers=["CPUExecutionProvider"]
        )
        outputs = [o.name for o in self.session.get_outputs()]
        if outputs != OUTPUTS:
            raise EncoderMissing(
                f"{graph} gives {outputs}, not {OUTPUTS}: export it again with "
                "bot/tools/export_encoder.py"
            )
        self.tokenizer = Tokenizer.from_file(str(vocab))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding()
        self._lock = threading.Lock()  # the tokenizer's padding state is shared

    def encode(
        self, texts: Sequence[str], words: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """For each text, its sentence vector (a row of the first array, unit
        length) and one vector per word (``words[i]``: each word's character
        span in ``texts[i]``), the mean of the word pieces inside the word;
        a word with no piece (nothing the tokenizer kept) gets zeros."""
        with self._lock:
            encoded = self.tokenizer.encode_batch(list(texts))
        feed = {
            "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array(
                [e.attention_mask for e in encoded], dtype=np.int64
            ),
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
        }
        sentences, pieces = self.session.run(OUTPUTS, feed)
        per_word = []
        for i, e in enumerate(encoded):
            spans = [
                (0, 0) if special or not mask else offset
                for offset, special, mask in zip(
                    e.offsets, e.special_tokens_mask, e.attention_mask, strict=True
                )
            ]
            per_word.append(pool(pieces[i], spans, words[i]))
        return sentences, per_word


def pool(
    pieces: np.ndarray,
    piece_spans: Sequence[tuple[int, int]],
    word_spans: Sequence[tuple[int, int]],
) -> np.ndarray:
    """One row per word: the mean of the pieces whose span overlaps it."""
    out = np.zeros((len(word_spans), pieces.shape[-1]), dtype=np.float32)
    for row, (start, end) in enumerate(word_spans):
        inside = [
            j for j, (a, b) in enumerate(piece_spans) if b > a and a < end and b > start
        ]
        if inside:
            out[row] = pieces[inside].mean(axis=0)
    return out
