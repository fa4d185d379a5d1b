"""Run the assistant's custom actions on trackers from JSON fixtures.

Runs under the bot's own Python (``bot/.venv``, where rasa_sdk lives), started
by tests/unit/test_bot_actions.py: reads ``[{"action": "module.Class",
"tracker": "name"}, ...]`` on stdin, awaits each action's ``run`` on
``tests/fixtures/trackers/<name>.json`` with a CollectingDispatcher, and prints
what each said and returned as one JSON list. A case with ``"slot"`` and
``"value"`` calls a form validation action's ``validate_<slot>`` with that
value instead (what it returns is the case's ``events``).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import sys
from pathlib import Path
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

TRACKERS = Path(__file__).resolve().parents[1] / "fixtures" / "trackers"


async def run_case(
    action_path: str, tracker_name: str, slot: str | None = None, value: Any = None
) -> dict[str, Any]:
    """What one action says and returns on one tracker (or one validator of
    a form's ``slot``, given ``value``)."""
    module_name, class_name = action_path.rsplit(".", 1)
    action = getattr(importlib.import_module(module_name), class_name)()
    state = json.loads((TRACKERS / f"{tracker_name}.json").read_text())
    dispatcher = CollectingDispatcher()
    tracker = Tracker.from_dict(state)
    if slot is None:
        events = await action.run(dispatcher, tracker, {})
    else:
        events = getattr(action, f"validate_{slot}")(value, dispatcher, tracker, {})
        if inspect.isawaitable(events):
            events = await events
    return {"messages": dispatcher.messages, "events": events}


def main() -> None:
    cases = json.load(sys.stdin)
    results = [
        asyncio.run(run_case(c["action"], c["tracker"], c.get("slot"), c.get("value")))
        for c in cases
    ]
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
