"""Run the assistant's custom actions on trackers from JSON fixtures.

Runs under the bot's own Python (``bot/.venv``, where rasa_sdk lives), started
by tests/unit/test_bot_actions.py: reads ``[{"action": "module.Class",
"tracker": "name"}, ...]`` on stdin, awaits each action's ``run`` on
``tests/fixtures/trackers/<name>.json`` with a CollectingDispatcher, and prints
what each said and returned as one JSON list.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

TRACKERS = Path(__file__).resolve().parents[1] / "fixtures" / "trackers"


async def run_case(action_path: str, tracker_name: str) -> dict[str, Any]:
    """What one action says and returns on one tracker."""
    module_name, class_name = action_path.rsplit(".", 1)
    action = getattr(importlib.import_module(module_name), class_name)()
    state = json.loads((TRACKERS / f"{tracker_name}.json").read_text())
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, Tracker.from_dict(state), {})
    return {"messages": dispatcher.messages, "events": events}


def main() -> None:
    cases = json.load(sys.stdin)
    results = [asyncio.run(run_case(c["action"], c["tracker"])) for c in cases]
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
