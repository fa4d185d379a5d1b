"""Fixtures of the channel tests."""

from __future__ import annotations

import pytest

from tests.fakes.rasa_rest import FakeRasa


@pytest.fixture
def rasa():
    """The assistant's REST channel, stood in on a real port."""
    fake = FakeRasa().start()
    yield fake
    fake.stop()
