"""Querysets compiled once per process, then run with new values (the hot paths' SQL).

Building and compiling a queryset with subqueries costs milliseconds of Python each time, more
than the database takes to run it. ``compiled(name, build, **values)`` builds the queryset once
per database alias with stand-in values, keeps its SQL and the compiler's description of the
columns, and on every call runs that SQL with the real values put where the stand-ins were, then
makes the model instances as ``QuerySet`` iteration does (``select_related`` rows, annotations,
the backends' converters). The SQL is the one Django writes for the backend in use (SQLite or
PostgreSQL, ``FOR NO KEY UPDATE`` only where it exists).

``build(**values)`` must depend on ``values`` only through filter values (no branching on them:
a different shape of query needs another ``name``), and the values must be of a type with a
stand-in here (int, str, UUID, date, aware datetime) and not None. The stand-ins are out of reach
of real data, and a build whose SQL does not carry every one of them as a parameter is refused.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.query import get_related_populators
from django.db.transaction import TransactionManagementError
from django.utils import timezone

__all__ = ["compiled"]

_cache: dict[tuple[str, str], _Compiled] = {}
_lock = threading.Lock()


def compiled(name: str, build: Callable[..., QuerySet], *, using: str | None = None, **values):
    """The model instances ``build(**values)`` would give, from SQL compiled once per process."""
    alias = using or DEFAULT_DB_ALIAS
    entry = _cache.get((name, alias))
    if entry is None:
        entry = _Compiled(build, alias, sorted(values))
        with _lock:
            entry = _cache.setdefault((name, alias), entry)
    return entry.run(values)


def _stand_in(i: int, value: Any) -> Any:
    if isinstance(value, bool):
        raise TypeError("no stand-in for a bool value")
    if isinstance(value, int):
        return -8_371_204_000_000 - i
    if isinstance(value, str):
        return f"~stand-in~{i}~{uuid.uuid4().hex}~"
    if isinstance(value, uuid.UUID):
        return uuid.UUID(int=0xF1E2D3C4B5A6978800000000000000 + i)
    if isinstance(value, dt.datetime):
        if timezone.is_naive(value):
            raise TypeError("no stand-in for a naive datetime")
        return dt.datetime(1971, 2, 3, 4, 5, i % 60, 123457, tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.date(1903, 1 + i % 12, 1 + i // 12)
    raise TypeError(f"no stand-in for {type(value).__name__}")


class _Compiled:
    def __init__(self, build: Callable[..., QuerySet], alias: str, names: list[str]):
        self.build, self.alias, self.names = build, alias, names
        self.ready = False

    def _compile(self, values: dict) -> None:
        connection = connections[self.alias]
        ops = connection.ops
        stand_ins = {n: _stand_in(i, values[n]) for i, n in enumerate(self.names)}
        queryset = self.build(**stand_ins)
        compiler = queryset.query.get_compiler(using=self.alias)
        sql, params = compiler.as_sql()  # a FOR UPDATE build is compiled in its transaction
        adapters = [
            lambda v: v,
            lambda v: v.hex if isinstance(v, uuid.UUID) else _NO,
            lambda v: str(v) if isinstance(v, uuid.UUID | dt.date) else _NO,
            lambda v: ops.adapt_datetimefield_value(v) if isinstance(v, dt.datetime) else _NO,
            lambda v: (
                ops.adapt_datefield_value(v)
                if isinstance(v, dt.date) and not isinstance(v, dt.datetime)
                else _NO
            ),
        ]
        slots, found = [], set()
        for param in params:
            slot = None
            for n, stand_in in stand_ins.items():
                for adapt in adapters:
                    adapted = adapt(stand_in)
                    if adapted is not _NO and type(adapted) is type(param) and adapted == param:
                        slot = (n, adapt)
                        break
                if slot:
                    found.add(n)
                    break
            slots.append(slot or (None, param))
        if found != set(self.names):
            raise ValueError(f"values not passed as parameters: {set(self.names) - found}")
        select, klass_info = compiler.select, compiler.klass_info
        fields = [s[0] for s in select[0 : compiler.col_count]]
        self.sql, self.slots = sql, slots
        self.for_update = queryset.query.select_for_update
        self.converters = list(compiler.get_converters(fields).items())
        self.model = klass_info["model"]
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        self.model_slice = slice(start, end)
        self.init_list = [f[0].target.attname for f in select[start:end]]
        self.populators = get_related_populators(klass_info, select, self.alias)
        self.annotations = list((compiler.annotation_col_map or {}).items())
        self.ready = True

    def run(self, values: dict) -> list:
        if sorted(values) != self.names:
            raise TypeError("the same names every time")
        connection = connections[self.alias]
        if not self.ready:
            self._compile(values)
        if self.for_update and connection.get_autocommit():
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        params = [adapt(values[n]) if n is not None else adapt for n, adapt in self.slots]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        objects = []
        for row in rows:
            if self.converters:
                row = list(row)
                for pos, (convs, expression) in self.converters:
                    value = row[pos]
                    for converter in convs:
                        value = converter(value, expression, connection)
                    row[pos] = value
            obj = self.model.from_db(self.alias, self.init_list, row[self.model_slice])
            for populator in self.populators:
                populator.populate(row, obj)
            for name, pos in self.annotations:
                setattr(obj, name, row[pos])
            objects.append(obj)
        return objects


_NO = object()
