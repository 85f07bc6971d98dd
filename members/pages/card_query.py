"""The card's member query (``selectors.for_card``), compiled once and replayed.

Building and compiling ``for_card``'s eleven annotations costs ~8 ms of Python per card view (the
database answers the SQL in a fraction of that), so the card page compiles it once per shape of
the member query and day, and then only swaps the two kinds of values that change between views:
the member query's own parameters (shop slug, LINE user id…) and the QR code's freshness cut-off
(``now - CODE_REFRESH``). The SQL, hence the query count and every rule, stays the one ``for_card``
writes; when the compiled parameters do not have the expected layout, the page falls back to the
ORM (never a wrong answer).

``member_required(queryset=card_members)`` calls ``.first()`` on what ``card_members`` returns:
that is the only method the replay offers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.models import QuerySet
from django.db.models.query import get_related_populators
from django.utils import timezone

from members.models import Member
from members.qr_models import CODE_REFRESH, MemberCode

_CACHE_SIZE = 64


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple  # the annotations' parameters, as compiled for the first view of the key
    cutoff_at: tuple[int, ...]  # where the QR code's freshness cut-off sits in ``params``
    compiler: Any  # the compiled compiler: select, klass_info, annotation_col_map, converters
    converters: dict


_compiled: dict[tuple, _Compiled | None] = {}


def _cutoff(now: dt.datetime, connection) -> Any:
    field = MemberCode._meta.get_field("created_at")
    return field.get_db_prep_value(now - CODE_REFRESH, connection)


def _compile(members: QuerySet[Member], base_params: tuple, now: dt.datetime, connection):
    from members.pages.selectors import for_card

    queryset = for_card(members, now=now)
    if not queryset.ordered:
        queryset = queryset.order_by("pk")  # as ``QuerySet.first``
    queryset = queryset[:1]
    compiler = queryset.query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    params = tuple(params)
    n = len(base_params)
    if n and params[-n:] != base_params:
        return None
    annotations = params[: len(params) - n]
    cutoff = _cutoff(now, connection)
    cutoff_at = tuple(i for i, p in enumerate(annotations) if p == cutoff)
    if not cutoff_at:
        return None
    fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
    converters = compiler.get_converters(fields)
    return _Compiled(sql, annotations, cutoff_at, compiler, converters)


class CardMembers:
    """The replayed ``for_card`` query of one card view; ``first()`` runs it (one query)."""

    def __init__(self, compiled: _Compiled, params: list, using: str):
        self.compiled, self.params, self.using = compiled, params, using

    def first(self) -> Member | None:
        compiled, compiler = self.compiled, self.compiled.compiler
        with connections[self.using].cursor() as cursor:
            cursor.execute(compiled.sql, self.params)
            row = cursor.fetchone()
        if row is None:
            return None
        if compiled.converters:
            (row,) = compiler.apply_converters([row], compiled.converters)
        select, klass_info = compiler.select, compiler.klass_info
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        init_list = [f[0].target.attname for f in select[start:end]]
        member = klass_info["model"].from_db(self.using, init_list, row[start:end])
        for populator in get_related_populators(klass_info, select, self.using):
            populator.populate(row, member)
        for name, pos in compiler.annotation_col_map.items():
            setattr(member, name, row[pos])
        return member


def _shape(query) -> tuple | None:
    """What, besides the WHERE clause, makes the member query's SQL: its joins, select_related
    and ordering. None for a query with anything more (annotations, deferred fields, values,
    distinct, slicing, extra, locking): those take the ORM."""
    if (
        query.annotations
        or query.deferred_loading != (frozenset(), True)
        or query.values_select
        or query.select
        or query.distinct
        or query.is_sliced
        or query.extra
        or query.combinator
        or query.select_for_update
        or query.group_by is not None
    ):
        return None
    joins = tuple(
        (
            alias,
            join.table_name,
            getattr(join, "join_type", None),
            getattr(join, "parent_alias", None),
        )
        for alias, join in query.alias_map.items()
    )
    return (
        query.model._meta.label,
        joins,
        repr(query.select_related),
        tuple(str(o) for o in query.order_by),
        query.default_ordering,
        query.standard_ordering,
    )


def card_members(members: QuerySet[Member], *, now: dt.datetime | None = None):
    """``selectors.for_card(members)`` for ``.first()``, compiled once per shape and day."""
    from members.pages.selectors import for_card

    now = now or timezone.now()
    using = members.db
    connection = connections[using]
    shape = _shape(members.query)
    if shape is None:
        return for_card(members, now=now)
    # The WHERE clause alone: compiling the whole member query (three tables' columns) would
    # cost as much as the replay saves.
    try:
        where_sql, base_params = members.query.get_compiler(connection=connection).compile(
            members.query.where
        )
    except (EmptyResultSet, FullResultSet):
        return for_card(members, now=now)
    base_params = tuple(base_params)
    key = (using, where_sql, shape, timezone.localdate(now), timezone.get_current_timezone_name())
    if key not in _compiled:
        if len(_compiled) >= _CACHE_SIZE:
            _compiled.clear()
        _compiled[key] = _compile(members, base_params, now, connection)
    compiled = _compiled[key]
    if compiled is None:
        return for_card(members, now=now)
    params = list(compiled.params)
    cutoff = _cutoff(now, connection)
    for i in compiled.cutoff_at:
        params[i] = cutoff
    params.extend(base_params)
    return CardMembers(compiled, params, using)


# --- the open points by expiry date (query 3) ------------------------------------------------------

_MEMBER = -7_301_937  # sentinels: no member has this id, no lot this date
_TODAY = dt.date(1901, 2, 3)
_by_expiry: dict[tuple, tuple[str, tuple, tuple, tuple, Any, dict] | None] = {}


def points_by_expiry_rows(member: Member, *, today: dt.date) -> list[tuple]:
    """``selectors.points_by_expiry_query(member, today)``'s rows as tuples (expires_on, points,
    pending), from its SQL compiled once per database: only the member and the day change."""
    from members.pages.selectors import points_by_expiry_query

    using = "default" if member._state.db is None else member._state.db
    connection = connections[using]
    if using not in _by_expiry:
        queryset = points_by_expiry_query(_MEMBER, today=_TODAY).using(using)
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        day = {_TODAY, connection.ops.adapt_datefield_value(_TODAY)}
        member_at = tuple(i for i, p in enumerate(params) if p == _MEMBER)
        today_at = tuple(i for i, p in enumerate(params) if p in day)
        ok = bool(member_at and today_at)
        fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
        converters = compiler.get_converters(fields)
        compiled = (sql, tuple(params), member_at, today_at, compiler, converters)
        _by_expiry[using] = compiled if ok else None
    compiled = _by_expiry[using]
    if compiled is None:
        rows = points_by_expiry_query(member.pk, today=today).using(using)
        return [(r["expires_on"], r["points"], r["pending"]) for r in rows]
    sql, params, member_at, today_at, compiler, converters = compiled
    params = list(params)
    for i in member_at:
        params[i] = member.pk
    day = connection.ops.adapt_datefield_value(today)
    for i in today_at:
        params[i] = day
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if converters:
        rows = list(compiler.apply_converters(rows, converters))
    return [tuple(r) for r in rows]
