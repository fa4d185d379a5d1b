"""Pages of growing lists: page numbers, sorting by whitelisted columns, and
links that keep the other filters.

A link back to a list keeps only the arguments the list names (its filters
and :data:`PAGING_ARGS`), never the whole query string: ``url_for`` would
take ``?endpoint=`` or a view's own argument (``?review_id=``) as its own (a
500), and ``?_external=1&_scheme=javascript`` as an address elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import request, url_for
from sqlalchemy import Select, func, inspect, select
from sqlalchemy.orm import Session

from backend.admin.blueprint import admin_bp

PER_PAGE = 25
#: What every list's address may carry besides its own filters.
PAGING_ARGS = ("sort", "dir", "page")


def list_args(allowed: Iterable[str]) -> dict[str, str]:
    """The request's arguments named in ``allowed`` that have a value: what a
    link back to the list keeps."""
    allowed = set(allowed)
    return {k: v for k, v in request.args.items() if k in allowed and v != ""}


@admin_bp.app_template_global()
def list_url(endpoint: str, allowed: Iterable[str], **changes: Any) -> str:
    """``endpoint``'s address with the request's ``allowed`` arguments, then
    ``changes`` (None drops one)."""
    args = {**list_args(allowed), **changes}
    return url_for(endpoint, **{k: v for k, v in args.items() if v not in (None, "")})


@dataclass
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int
    sort: str
    direction: str
    #: the list's own filters (query arguments) that its links keep
    filters: tuple[str, ...] = field(default=())

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first(self) -> int:
        return 0 if not self.total else (self.page - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        return min(self.page * self.per_page, self.total)

    @property
    def kept(self) -> dict[str, str]:
        """The arguments of this list's address: its filters, sort and page."""
        return list_args(self.filters + PAGING_ARGS)

    def url(self, **changes: Any) -> str:
        """This list's address with some arguments changed."""
        args = {**self.kept, **changes}
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
    filters: tuple[str, ...] = (),
) -> Page:
    """One page of ``stmt``, ordered by ``?sort=`` (a key of ``sorts``) and
    ``?dir=``, with the id as a tie-breaker; ``?page=`` from 1. ``filters``:
    the query arguments the list is filtered by, which its links keep."""
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
    return Page(list(rows), page, per_page, total or 0, sort, direction, filters)
