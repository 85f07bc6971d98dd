"""Set-based writes any app can use: many rows inserted (``insert_rows``) or updated
(``update_rows``) in one statement per batch, each value converted by its field as the ORM would.

On PostgreSQL one typed array per column (``unnest``), so a statement's size does not grow with its
rows; on SQLite ``VALUES`` as many rows as its parameter limit allows. No ``save()``, no signals, as
``bulk_create``: callers (the ledger's bulk credits, the member import) keep their invariants
themselves.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import connections, router, transaction
from django.db.models import NOT_PROVIDED, Model
from django.utils import timezone

# Rows per statement on PostgreSQL (one array per column, so the statement's size is flat).
_ARRAY_ROWS = 5000


# Fields whose database value is the Python value itself when it already has the field's type
# (an int, a str) on both databases: ``get_db_prep_save`` is skipped for those values.
_INTEGER_FIELDS = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
    }
)
_TEXT_FIELDS = frozenset({"CharField", "TextField", "EmailField", "SlugField"})


def _column(field, values, connection) -> list:
    """``values`` converted for ``field`` as ``get_db_prep_save`` does (skipped where it would
    give back the value itself)."""
    target = field.target_field if field.is_relation else field
    kind = target.get_internal_type()
    plain = int if kind in _INTEGER_FIELDS else str if kind in _TEXT_FIELDS else None
    prep = field.get_db_prep_save
    if plain is None:
        return [prep(v, connection) for v in values]
    return [v if v is None or type(v) is plain else prep(v, connection) for v in values]


def _pg_array(values: list):
    """A PostgreSQL array literal of ``values`` ('{1,2,NULL}', '{"a","b"}'), to be cast to the
    column's array type: one text parameter instead of one element at a time for psycopg to
    quote in Python (a few µs each, millions of them in an import). Values of other types are
    given back as the list, for psycopg."""
    parts = []
    append = parts.append
    for value in values:
        kind = type(value)
        if value is None:
            append("NULL")
        elif kind is int:
            append(str(value))
        elif kind is str or kind in _LITERAL_TYPES:
            text = str(value)
            if "\\" in text:
                text = text.replace("\\", "\\\\")
            if '"' in text:
                text = text.replace('"', '\\"')
            append(f'"{text}"')
        else:
            return values
    return "{" + ",".join(parts) + "}"


# Types whose str() PostgreSQL reads back as the same value.
_LITERAL_TYPES = frozenset({bool, float, Decimal, uuid.UUID, dt.date, dt.datetime})


def _defaults(model: type[Model], given: set[str]) -> tuple[dict[str, Any], list]:
    """What ``Model()`` and ``save`` put in the columns not given: the same value for every row
    (constants, ``auto_now`` times), and the fields whose default is called per row (UUIDs)."""
    now = timezone.now()
    same: dict[str, Any] = {}
    per_row = []
    for f in model._meta.concrete_fields:
        if f.attname in given or f.name in given or (f.primary_key and f.db_returning):
            continue
        if f.db_default is not NOT_PROVIDED:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            same[f.attname] = now
        elif f.has_default() and callable(f.default):
            per_row.append(f)
        else:
            same[f.attname] = f.get_default()
    return same, per_row


def insert_rows(
    model: type[Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    same: Mapping[str, Any] | None = None,
    returning: Sequence[str] = (),
    ignore_conflicts: bool = False,
    using: str | None = None,
) -> list[tuple]:
    """Insert many rows at once: each row holds the values of ``fields``, ``same`` the values
    every row gets, and every other column what ``Model()`` would give it (its default, called per
    row when it is callable; ``auto_now`` fields the time now). Returns the ``returning`` columns
    of each row inserted, in no particular order (return a unique column to match them up).

    As ``bulk_create``: no ``save()``, no signals; values are converted by each field
    (``get_db_prep_save``); a unique clash raises ``IntegrityError`` unless ``ignore_conflicts``
    (then the clashing rows are skipped). One ``INSERT … SELECT`` per batch: on PostgreSQL from
    one typed array per column (``unnest``), on SQLite from ``VALUES`` as many rows as its
    parameter limit allows.
    """
    if not rows:
        return []
    using = using or router.db_for_write(model)
    connection = connections[using]
    opts = model._meta
    given = {*fields, *(same or {})}
    defaults, per_row = _defaults(model, given)
    constant = [
        (opts.get_field(name), value) for name, value in {**defaults, **(same or {})}.items()
    ]
    columns = [opts.get_field(name) for name in fields] + per_row
    if per_row:
        rows = [(*row, *(f.get_default() for f in per_row)) for row in rows]
    quote = connection.ops.quote_name
    table = quote(opts.db_table)
    targets = ", ".join(quote(f.column) for f in [*columns, *(f for f, _v in constant)])
    constant_params = [f.get_db_prep_save(value, connection) for f, value in constant]
    returned = (
        " RETURNING " + ", ".join(quote(opts.get_field(name).column) for name in returning)
        if returning
        else ""
    )
    out: list[tuple] = []
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            names = [f"c{i}" for i in range(len(columns))]
            picks = [f"v.{n}" for n in names]
            picks += [f"%s::{f.cast_db_type(connection)}" for f, _v in constant]
            arrays = ", ".join(f"%s::{f.cast_db_type(connection)}[]" for f in columns)
            sql = (
                f"INSERT INTO {table} ({targets}) SELECT {', '.join(picks)} "  # noqa: S608 - names from model metadata
                f"FROM unnest({arrays}) AS v({', '.join(names)})"
                + (" ON CONFLICT DO NOTHING" if ignore_conflicts else "")
                + returned
            )
            for start in range(0, len(rows), _ARRAY_ROWS):
                batch = rows[start : start + _ARRAY_ROWS]
                arrays_params = [
                    _pg_array(_column(f, [row[i] for row in batch], connection))
                    for i, f in enumerate(columns)
                ]
                cursor.execute(sql, [*constant_params, *arrays_params])
                if returning:
                    out.extend(cursor.fetchall())
        elif connection.vendor == "sqlite":
            width = len(columns)
            limit = connection.features.max_query_params or 999
            per_statement = max(1, (limit - len(constant_params)) // max(width, 1))
            picks = [f"column{i}" for i in range(1, width + 1)] + ["%s"] * len(constant)
            placeholder = "(" + ", ".join(["%s"] * width) + ")"
            verb = "INSERT OR IGNORE" if ignore_conflicts else "INSERT"
            for start in range(0, len(rows), per_statement):
                batch = rows[start : start + per_statement]
                prepared = [
                    _column(f, [row[i] for row in batch], connection) for i, f in enumerate(columns)
                ]
                params = [value for row in zip(*prepared, strict=True) for value in row]
                cursor.execute(
                    f"{verb} INTO {table} ({targets}) SELECT {', '.join(picks)} "  # noqa: S608 - names from model metadata
                    f"FROM (VALUES {', '.join([placeholder] * len(batch))})" + returned,
                    [*constant_params, *params],
                )
                if returning:
                    out.extend(cursor.fetchall())
        else:  # pragma: no cover - the project runs on PostgreSQL and SQLite
            objects = [
                model(**dict(same or {}), **dict(zip(fields, row, strict=False))) for row in rows
            ]
            model._default_manager.using(using).bulk_create(
                objects, ignore_conflicts=ignore_conflicts
            )
            out = [tuple(getattr(o, name) for name in returning) for o in objects]
    if not returning:
        return []
    # As the database gives them back (SQLite: a UUID as its hex digits): as Python values.
    fields_back = [opts.get_field(name) for name in returning]
    return [tuple(f.to_python(v) for f, v in zip(fields_back, row, strict=True)) for row in out]


def update_rows(
    model: type[Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    same: Mapping[str, Any] | None = None,
    using: str | None = None,
) -> int:
    """Set ``fields`` of many rows at once: each row is ``(pk, value of each field …)``, and
    ``same`` holds values every row gets (``updated_at``). Returns the rows changed.

    One statement per batch, joined on the primary key: on PostgreSQL ``UPDATE … FROM unnest(…)``
    with one typed array per column, on SQLite (≥ 3.33) ``UPDATE … FROM (VALUES …)`` as many rows as
    its parameter limit allows. Values are converted by each field (``get_db_prep_save``), as the
    ORM's ``update`` does; ``pre_save`` hooks (``auto_now``) are not run, so pass those in ``same``.
    Other databases get ``QuerySet.bulk_update``.
    """
    if not rows:
        return 0
    same = dict(same or {})
    using = using or router.db_for_write(model)
    connection = connections[using]
    opts = model._meta
    pk = opts.pk
    columns = [opts.get_field(name) for name in fields]
    constant = [(opts.get_field(name), value) for name, value in same.items()]
    quote = connection.ops.quote_name
    table = quote(opts.db_table)
    sets = [f"{quote(f.column)} = v.{{{i}}}" for i, f in enumerate(columns, start=1)]
    sets += [f"{quote(f.column)} = %s" for f, _value in constant]
    constant_params = [f.get_db_prep_save(value, connection) for f, value in constant]

    def prepared(batch):
        return [
            _column(f, [row[i] for row in batch], connection) for i, f in enumerate([pk, *columns])
        ]

    changed = 0
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            names = ["pk", *(f"c{i}" for i in range(1, len(columns) + 1))]
            arrays = ", ".join(f"%s::{f.cast_db_type(connection)}[]" for f in [pk, *columns])
            set_sql = ", ".join(s.format(*names) for s in sets)
            sql = (
                f"UPDATE {table} AS t SET {set_sql} FROM unnest({arrays}) "  # noqa: S608 - names from model metadata
                f"AS v({', '.join(names)}) WHERE t.{quote(pk.column)} = v.pk"
            )
            for start in range(0, len(rows), _ARRAY_ROWS):
                arrays = [_pg_array(c) for c in prepared(rows[start : start + _ARRAY_ROWS])]
                cursor.execute(sql, [*constant_params, *arrays])
                changed += cursor.rowcount
        elif connection.vendor == "sqlite":
            names = [f"column{i}" for i in range(1, len(columns) + 2)]
            set_sql = ", ".join(s.format(*names) for s in sets)
            width = len(columns) + 1
            limit = connection.features.max_query_params or 999
            per_statement = max(1, (limit - len(constant_params)) // width)
            placeholder = "(" + ", ".join(["%s"] * width) + ")"
            for start in range(0, len(rows), per_statement):
                batch = rows[start : start + per_statement]
                values = ", ".join([placeholder] * len(batch))
                params = [value for row in zip(*prepared(batch), strict=True) for value in row]
                cursor.execute(
                    f"UPDATE {table} SET {set_sql} FROM (VALUES {values}) AS v "  # noqa: S608 - names from model metadata
                    f"WHERE {table}.{quote(pk.column)} = v.column1",
                    [*constant_params, *params],
                )
                changed += cursor.rowcount
        else:  # pragma: no cover - the project runs on PostgreSQL and SQLite
            objects = []
            for row in rows:
                obj = model(pk=row[0], **dict(same))
                for f, value in zip(columns, row[1:], strict=True):
                    setattr(obj, f.attname, value)
                objects.append(obj)
            names = [f.name for f in columns] + [f.name for f, _value in constant]
            changed = model._default_manager.using(using).bulk_update(objects, names)
    return changed
