"""JSON values: reading one we did not write (a webhook's body, a platform's
envelope), where a field of the wrong shape reads as empty, so bad input is
ignored or refused where it is looked at, never a TypeError deep inside; and
changing every string in one (:func:`map_strings`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is an object, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` if it is an array, else an empty one."""
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str:
    """``value`` if it is a string, else ""."""
    return value if isinstance(value, str) else ""


def map_strings(value: Any, change: Callable[[str], str], *, keys: bool = False) -> Any:
    """``value`` (JSON) with ``change`` made to every string in it, however
    deep in lists and objects (and to the objects' keys, with ``keys``)."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [map_strings(v, change, keys=keys) for v in value]
    if isinstance(value, dict):
        return {
            (change(k) if keys and isinstance(k, str) else k): map_strings(
                v, change, keys=keys
            )
            for k, v in value.items()
        }
    return value
