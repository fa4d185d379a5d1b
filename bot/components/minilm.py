"""Sentence and word features from all-MiniLM-L6-v2, for intents and entities.

A dense featurizer for Rasa's pipeline on ``components.encoder.MiniLM``: the
sentence encoder Beckon's matching uses, on ONNX Runtime, offline. It gives

- a sentence feature: the sentence's embedding (matching's vector) times
  ``scale``, which the LogisticRegressionClassifier reads beside the sparse
  n-grams (a unit vector among n-gram counts hardly counts unscaled), so "I
  need a piano tuner" reads like the requests it resembles, whatever the
  noun;
- a sequence feature, one row per Rasa token: the mean of its word pieces'
  contextual vectors, which the CRFEntityExtractor reads with
  ``text_dense_features`` (what a word does in the sentence, not only what it
  is). With ``token_dimensions``, only their first principal components, fit
  when training on ``fit_examples`` of the training examples: a CRF with 384
  float features a word trains several times slower than with a few dozen.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.encoder import DIMENSION, ENCODER_DIR, EncoderMissing, MiniLM

PROJECTION_FILE = "projection.npz"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True
)
class MiniLMFeaturizer(DenseFeaturizer, GraphComponent):
    """all-MiniLM-L6-v2 sentence and word features (see the module's doc)."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def required_packages() -> list[str]:
        return ["onnxruntime", "tokenizers"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            "scale": 1.0,
            # 0: every one of the 384 dimensions
            "token_dimensions": 0,
            "fit_examples": 2000,
            "batch_size": 64,
            # parsing: one thread per process, as the web workers (PERF_NOTES.md);
            # training featurizes every example and may take the machine
            "threads": 1,
            "training_threads": 2,
        }

    def __init__(
        self,
        config: dict[str, Any],
        name: str,
        model_storage: ModelStorage,
        resource: Resource,
        projection: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        super().__init__(name, config)
        self.projection = projection  # (mean, components): 384 -> k
        self._model_storage = model_storage
        self._resource = resource
        self._encoders: dict[int, MiniLM] = {}
        self.encoder(training=False)  # a missing export fails here, not mid-parse

    def encoder(self, training: bool) -> MiniLM:
        """The encoder with the threads for training or for parsing (loaded once)."""
        threads = int(self._config["training_threads" if training else "threads"])
        if threads not in self._encoders:
            try:
                self._encoders[threads] = MiniLM(ENCODER_DIR, threads=threads)
            except EncoderMissing as error:
                raise InvalidConfigException(str(error)) from error
        return self._encoders[threads]

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MiniLMFeaturizer:
        config = {**cls.get_default_config(), **config}
        return cls(config, execution_context.node_name, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> MiniLMFeaturizer:
        config = {**cls.get_default_config(), **config}
        projection = None
        if int(config["token_dimensions"]):
            with model_storage.read_from(resource) as directory:
                saved = np.load(directory / PROJECTION_FILE)
                projection = (saved["mean"], saved["components"])
        return cls(
            config, execution_context.node_name, model_storage, resource, projection
        )

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if float(config.get("scale", 1.0)) <= 0:
            raise InvalidConfigException("MiniLMFeaturizer: scale must be > 0")
        if not 0 <= int(config.get("token_dimensions", 0)) <= DIMENSION:
            raise InvalidConfigException(
                f"MiniLMFeaturizer: token_dimensions must be 0 to {DIMENSION}"
            )

    def train(self, training_data: TrainingData) -> Resource:
        """The principal components of word vectors (``token_dimensions``),
        from a seeded sample of the training examples."""
        k = int(self._config["token_dimensions"])
        if not k:
            return self._resource
        messages = sorted(
            (m for m in training_data.training_examples if self._featurizable(m)),
            key=lambda m: m.get(TEXT),
        )
        count = min(int(self._config["fit_examples"]), len(messages))
        sample = random.Random(0).sample(messages, count)
        words = np.vstack([w for _, _, w in self._encode(sample, training=True)])
        words = words[np.abs(words).sum(axis=1) > 0]  # words with no piece
        if len(words) < k:
            raise InvalidConfigException(
                f"MiniLMFeaturizer: {len(words)} words to fit {k} dimensions on"
            )
        mean = words.mean(axis=0)
        _, _, components = np.linalg.svd(words - mean, full_matrices=False)
        self.projection = (mean.astype(np.float32), components[:k].astype(np.float32))
        with self._model_storage.write_to(self._resource) as directory:
            np.savez(
                directory / PROJECTION_FILE,
                mean=self.projection[0],
                components=self.projection[1],
            )
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples, training=True)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Adds the features to every message with tokenised text."""
        self._featurize(messages, training=False)
        return messages

    def _featurize(self, messages: list[Message], training: bool) -> None:
        scale = float(self._config["scale"])
        todo = [m for m in messages if self._featurizable(m)]
        for message, sentence, words in self._encode(todo, training):
            self.add_features_to_message(
                self._reduce(words),
                (sentence[None, :] * scale).astype(np.float32),
                TEXT,
                message,
            )

    @staticmethod
    def _featurizable(message: Message) -> bool:
        return bool(message.get(TEXT)) and message.get(TOKENS_NAMES[TEXT]) is not None

    def _encode(self, messages: list[Message], training: bool):
        """(message, sentence vector, word vectors) for each message, shortest
        first (a batch of alike lengths pads little)."""
        ordered = sorted(messages, key=lambda m: len(m.get(TEXT)))
        size = int(self._config["batch_size"])
        for start in range(0, len(ordered), size):
            batch = ordered[start : start + size]
            spans = [
                [(t.start, t.end) for t in m.get(TOKENS_NAMES[TEXT])] for m in batch
            ]
            texts = [m.get(TEXT) for m in batch]
            sentences, words = self.encoder(training).encode(texts, spans)
            yield from zip(batch, sentences, words, strict=True)

    def _reduce(self, words: np.ndarray) -> np.ndarray:
        if self.projection is None:
            return words.astype(np.float32)
        mean, components = self.projection
        reduced = (words - mean) @ components.T
        reduced[np.abs(words).sum(axis=1) == 0] = 0  # a word with no piece
        return reduced.astype(np.float32)
