"""What the fuzz tests share: bad values for a field, every place in a JSON
document to put them, and a count of every table's rows (a refusal must
leave each of them as it was)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, literal, select, union_all

from backend.db import Base

#: What a field may be replaced with: wrong types, sizes no column holds,
#: characters no database takes.
BAD_VALUES: list[Any] = [
    None,
    "",
    0,
    -1,
    1.5,
    True,
    [],
    {},
    ["x"],
    {"id": "x"},
    "x" * 300,
    "9" * 5000,
    "nul\x00inside",
    "\ud800 lone surrogate",
    "+1" + "9" * 40,
    2**31,
    2**64,
]
#: Form fields get strings only (a form has nothing else).
BAD_FORM_VALUES = [
    "",
    "x" * 300,
    "9" * 5000,
    "nul\x00inside",
    "-1",
    "NaN",
    "99999999999999999999999",
    "whatsapp:",
    "+1" + "9" * 300,
]


def row_counts(session) -> dict[str, int]:
    """The number of rows of every table, in one query (after a rollback, so
    the session sees what others committed)."""
    session.rollback()
    tables = Base.metadata.sorted_tables
    query = union_all(
        *(
            select(
                literal(table.name).label("name"), func.count().label("rows")
            ).select_from(table)
            for table in tables
        )
    )
    return dict(session.execute(query).all())


def paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every place in a JSON document, the root's children first."""
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return
    for key, child in items:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


def replaced(document: Any, path: tuple, value: Any, *, drop: bool = False) -> Any:
    """A copy of ``document`` with the value at ``path`` replaced (or dropped)."""
    changed = copy.deepcopy(document)
    parent = changed
    for key in path[:-1]:
        parent = parent[key]
    if drop:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return changed


def variants(
    document: Any, values: list[Any] = BAD_VALUES
) -> Iterator[tuple[str, Any]]:
    """``document`` with each field in turn dropped, then set to each bad value;
    with a label saying which."""
    for path in paths(document):
        yield f"drop {path}", replaced(document, path, None, drop=True)
        for value in values:
            yield f"{path} = {value!r:.40}", replaced(document, path, value)
