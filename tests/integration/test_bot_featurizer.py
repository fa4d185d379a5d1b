"""The assistant's MiniLM featurizer inside Rasa (bot/components/minilm.py),
run by the bot's Python as `rasa train` and `rasa run` run it: dense
features on every tokenised message, in the shapes the classifier and the
CRF read, the same at training and at parse time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend import assistant

BOT = Path(__file__).resolve().parents[2] / "bot"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

SCRIPT = r"""
import json, sys, tempfile
from pathlib import Path

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.minilm import MiniLMFeaturizer

texts, config = json.loads(sys.argv[1]), json.loads(sys.argv[2])
storage = LocalModelStorage(Path(tempfile.mkdtemp()))
context = ExecutionContext(GraphSchema({}), node_name="minilm")
resource = Resource("minilm")
tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
messages = [Message(data={"text": t, "intent": "x"}) for t in texts]
data = TrainingData(messages + [Message(data={"intent": "greet"})])
tokenizer.process_training_data(data)
# as Rasa's graph does: train one, then load what it saved to featurize
MiniLMFeaturizer.create(config, storage, resource, context).train(data)
featurizer = MiniLMFeaturizer.load(config, storage, resource, context)
featurizer.process_training_data(data)
out = []
for message in data.training_examples:
    sequence, sentence = message.get_dense_features("text")
    if sequence is None:
        out.append(None)
        continue
    live = Message(data={"text": message.get("text")})
    tokenizer.process([live])
    featurizer.process([live])
    live_sequence, live_sentence = live.get_dense_features("text")
    out.append({
        "tokens": len(message.get("text_tokens")),
        "sequence": list(sequence.features.shape),
        "sentence": list(sentence.features.shape),
        "norm": float(np.linalg.norm(sentence.features)),
        "word_norm": float(np.linalg.norm(sequence.features, axis=1).mean()),
        "same_live": bool(
            np.allclose(live_sentence.features, sentence.features, atol=1e-5)
            and np.allclose(live_sequence.features, sequence.features, atol=1e-4)
        ),
    })
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def bot_python():
    if not assistant.installed():
        message = "the bot's environment is missing: run `make bot-install`"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    # what `make bot-encoder` and `beckon run` do first
    subprocess.run(
        [sys.executable, str(BOT / "tools" / "export_encoder.py")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return assistant.BOT_PYTHON


def _featurize(bot_python, texts: list[str], config: dict) -> list[dict | None]:
    result = subprocess.run(
        [str(bot_python), "-c", SCRIPT, json.dumps(texts), json.dumps(config)],
        cwd=BOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


TEXTS = [
    "I need an upholsterer in Chicago tmrw",
    "thanks!",
    "4",
    "could you find me a piano tuner for saturday",
    "is there anyone else in Oakland?",
]


@pytest.mark.parametrize(("dimensions", "width"), [(0, 384), (4, 4)])
def test_every_tokenised_message_gets_sentence_and_word_features(
    bot_python, dimensions, width
):
    config = {"scale": 4.0, "token_dimensions": dimensions, "fit_examples": 3}
    found = _featurize(bot_python, TEXTS, config)
    assert found[-1] is None  # a message with no text (an intent name) is left alone
    for text, features in zip(TEXTS, found, strict=False):
        words = len(text.split())
        assert features["tokens"] == words
        assert features["sequence"] == [words, width]
        assert features["sentence"] == [1, 384]
        assert features["norm"] == pytest.approx(4.0, abs=1e-4)  # scale
        assert features["word_norm"] > 0
        assert features["same_live"]  # what was trained on is what is parsed
