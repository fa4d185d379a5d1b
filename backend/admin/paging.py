"""Pages of growing lists: page numbers, sorting by whitelisted columns, and
links that keep the other filters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request, url_for
from sqlalchemy import Select, func, inspect, select
from sqlalchemy.orm import Session

PER_PAGE = 25


@dataclass
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int
    sort: str
    direction: str

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first(self) -> int:
        return 0 if not self.total else (self.page - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        return min(self.page * self.per_page, self.total)

    def url(self, **changes: Any) -> str:
        """This list's address with some arguments changed."""
        args = {k: v for k, v in request.args.items() if v != ""}
        args.update({k: v for k, v in changes.items()})
        args = {k: v for k, v in args.items() if v not in (None, "")}
        return url_for(request.endpoint, **(request.view_args or {}), **args)

    def sort_url(self, column: str) -> str:
        direction = (
            "asc" if self.sort == column and self.direction == "desc" else "desc"
        )
        return self.url(sort=column, dir=direction, page=None)

    def window(self, size: int = 2) -> list[int | None]:
        """Page numbers to show: the ends and those around this one."""
        shown: list[int | None] = []
        for n in range(1, self.pages + 1):
            if n in (1, self.pages) or abs(n - self.page) <= size:
                shown.append(n)
            elif shown and shown[-1] is not None:
                shown.append(None)
        return shown


def arg_int(name: str, default: int, low: int = 1, high: int = 10**9) -> int:
    try:
        value = int(request.args.get(name, default))
    except ValueError:
        return default
    return min(max(value, low), high)


def _identity(stmt: Select) -> tuple[Any, ...]:
    """The primary key of the rows ``stmt`` selects: the tie-breaker that
    keeps rows with equal sort keys in one order on every page."""
    entity = stmt.column_descriptions[0].get("entity")
    if entity is None:
        raise ValueError("paginate needs a statement over one entity")
    mapper = inspect(entity)
    return tuple(
        getattr(entity, mapper.get_property_by_column(c).key)
        for c in mapper.primary_key
    )


def paginate(
    session: Session,
    stmt: Select,
    sorts: dict[str, Any],
    default_sort: str,
    *,
    default_direction: str = "desc",
    per_page: int = PER_PAGE,
    scalars: bool = True,
) -> Page:
    """One page of ``stmt``, ordered by ``?sort=`` (a key of ``sorts``) and
    ``?dir=``, with the id as a tie-breaker; ``?page=`` from 1."""
    sort = request.args.get("sort", default_sort)
    if sort not in sorts:
        sort = default_sort
    direction = request.args.get("dir", default_direction)
    if direction not in ("asc", "desc"):
        direction = default_direction
    total = session.scalar(
        select(func.count()).select_from(stmt.order_by(None).subquery())
    )
    pages = max(1, -(-(total or 0) // per_page))
    page = arg_int("page", 1, 1, pages)
    columns = sorts[sort] if isinstance(sorts[sort], tuple) else (sorts[sort],)
    columns += tuple(c for c in _identity(stmt) if not any(c is k for k in columns))
    order = [c.desc() if direction == "desc" else c.asc() for c in columns]
    ordered = stmt.order_by(*order).offset((page - 1) * per_page).limit(per_page)
    rows = session.scalars(ordered) if scalars else session.execute(ordered)
    return Page(list(rows), page, per_page, total or 0, sort, direction)
