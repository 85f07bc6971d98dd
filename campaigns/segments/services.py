"""Writes of segments: saving a segment, the shop's RFM settings, and the RFM refresh."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.segments.conditions import parse_conditions
from campaigns.segments.models import MAX_WINDOW_MONTHS, MemberRfm, RfmSettings, Segment
from campaigns.segments.rfm import group_case_sql, rfm_settings_problems, rfm_window_start
from loyalty.errors import Conflict, InvalidInput
from members.ledger.models import Purchase
from members.models import Member
from shops.models import Shop

NO_CUTS = (None, None, None, None)


def segment_create(*, shop: Shop, name: str, conditions: list) -> Segment:
    """Save a named segment of the shop. The conditions are checked first (kinds, values, and ids
    that must be the shop's own): every problem is refused in one ``InvalidInput``; a name the shop
    already uses is a ``Conflict``."""
    name = name.strip()
    if not name:
        raise InvalidInput(_("Give the segment a name."), field="name")
    try:
        parse_conditions(shop.pk, conditions)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), field="conditions") from None
    try:
        with transaction.atomic():
            return Segment.objects.create(shop=shop, name=name, conditions=conditions)
    except IntegrityError:
        raise Conflict(
            _("The shop already has a segment named “%(name)s”.") % {"name": name},
            code="duplicate_name",
            field="name",
        ) from None


def segment_update(*, segment: Segment, name: str, conditions: list) -> Segment:
    """Rename a segment and/or replace its conditions, checked as ``segment_create`` checks them
    (every problem in one ``InvalidInput``; a name another of the shop's segments has is a
    ``Conflict``)."""
    name = name.strip()
    if not name:
        raise InvalidInput(_("Give the segment a name."), field="name")
    try:
        parse_conditions(segment.shop_id, conditions)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), field="conditions") from None
    segment.name, segment.conditions = name, conditions
    try:
        with transaction.atomic():
            segment.save(update_fields=["name", "conditions", "updated_at"])
    except IntegrityError:
        raise Conflict(
            _("The shop already has a segment named “%(name)s”.") % {"name": name},
            code="duplicate_name",
            field="name",
        ) from None
    return segment


def rfm_settings_save(
    *,
    shop: Shop,
    window_months: int,
    mode: str,
    r_days: Sequence[int | None] = NO_CUTS,
    f_counts: Sequence[int | None] = NO_CUTS,
    m_thb: Sequence[Decimal | int | str | None] = NO_CUTS,
) -> RfmSettings:
    """Save the shop's one row of RFM settings: the window (1–36 months) and quintiles or fixed
    thresholds, four ascending cut points per score (R days, F purchases, M THB; required for
    fixed thresholds, checked whenever given). Every problem is refused in one ``InvalidInput``
    naming the first field. Scores change at the next refresh (nightly, or on demand)."""
    problems = rfm_settings_problems(
        window_months=window_months,
        mode=mode,
        r_days=r_days,
        f_counts=f_counts,
        m_thb=m_thb,
        max_window=MAX_WINDOW_MONTHS,
    )
    if problems:
        field = next(iter(problems))
        raise InvalidInput(" ".join(problems.values()), field=field)

    def cuts(values, cast) -> list:
        values = list(values or NO_CUTS)
        return [cast(str(v).strip()) if v not in (None, "") else None for v in values]

    r, f, m = cuts(r_days, int), cuts(f_counts, int), cuts(m_thb, Decimal)
    with transaction.atomic():
        Shop.objects.select_for_update().filter(pk=shop.pk).values_list("pk").first()
        row, _created = RfmSettings.objects.update_or_create(
            shop=shop,
            defaults={
                "window_months": window_months,
                "mode": mode,
                **{f"r_days_{i}": v for i, v in enumerate(r, start=1)},
                **{f"f_count_{i}": v for i, v in enumerate(f, start=1)},
                **{f"m_thb_{i}": v for i, v in enumerate(m, start=1)},
            },
        )
    return row


def _t(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def score_sql(order_by: str) -> str:
    """The 1–5 score of a value among the shop's scored members: the share of them whose value is
    at most this one (ties count together), in fifths rounded up: ``⌈5 × k ÷ n⌉`` in integer
    arithmetic. The highest value always scores 5, equal values score alike, and five members with
    five different values score 1 to 5. ``rfm_score`` is the same rule in Python."""
    return f"(5 * COUNT(*) OVER (ORDER BY {order_by}) + COUNT(*) OVER () - 1) / COUNT(*) OVER ()"


def rfm_score(value, values: list) -> int:
    """``score_sql`` in Python: the score of ``value`` among ``values`` (which include it)."""
    at_most = sum(1 for other in values if other <= value)
    return (5 * at_most + len(values) - 1) // len(values)


@dataclass(frozen=True)
class RfmRefresh:
    shop_id: int
    scored: int


def _instant(value: dt.datetime):
    """A datetime parameter of raw SQL as the backend stores it (SQLite: UTC text; comparing the
    stored text with an aware value in another offset would be wrong)."""
    return connection.ops.adapt_datetimefield_value(value)


def _fixed_scores_sql(rules: RfmSettings, now: dt.datetime) -> tuple[str, str, str, dict]:
    """The three score expressions for fixed cut points (``rfm.fixed_score`` in SQL: 1 + the cut
    points reached), and their parameters. Recency's cut points are instants: now − days."""
    params: dict = {}

    def reached(column: str, name: str, cuts, cast: str = "") -> str:
        parts = []
        for i, cut in enumerate(cuts, start=1):
            params[f"{name}{i}"] = cut
            value = f"CAST(%({name}{i})s AS {cast})" if cast else f"%({name}{i})s"
            parts.append(f"CASE WHEN {column} >= {value} THEN 1 ELSE 0 END")
        return "(1 + " + " + ".join(parts) + ")"

    r = reached("last_at", "r", [_instant(now - dt.timedelta(days=d)) for d in rules.r_days])
    f = reached("freq", "f", rules.f_counts)
    # SQLite compares a number with a text parameter as text: cast the THB to a number.
    m = reached("spend", "m", rules.m_thb, cast="NUMERIC")
    return r, f, m, params


def rfm_refresh(*, shop_id: int, now: dt.datetime | None = None) -> RfmRefresh:
    """Recompute the RFM scores of every member of the shop with a completed purchase, in two SQL
    statements (delete, insert from one ranked select; no Python loop over members), by the shop's
    RFM settings (``RfmSettings``: the window in months, and quintiles or fixed cut points).

    Recency is the last completed purchase ever (a member who last bought before the window is
    scored, low, and lands among "lost" rather than vanishing); frequency and spend count the
    window only. Refunded (reversed) purchases do not count; erased and merged members get no
    score. The shop row is locked first so two refreshes of one shop run one after the other."""
    now = now or timezone.now()
    with transaction.atomic():
        Shop.objects.select_for_update().filter(pk=shop_id).values_list("pk").first()
        rules = RfmSettings.for_shop(shop_id)
        since = rfm_window_start(now, rules.window_months)
        if rules.mode == RfmSettings.Mode.FIXED:
            r_sql, f_sql, m_sql, score_params = _fixed_scores_sql(rules, now)
        else:
            r_sql, f_sql, m_sql = score_sql("last_at"), score_sql("freq"), score_sql("spend")
            score_params = {}
        MemberRfm.objects.filter(shop_id=shop_id).delete()
        sql = f"""
            WITH stats AS (
                SELECT p.member_id AS member_id,
                       MAX(p.created_at) AS last_at,
                       SUM(CASE WHEN p.created_at >= %(since)s THEN 1 ELSE 0 END) AS freq,
                       SUM(CASE WHEN p.created_at >= %(since)s THEN p.amount ELSE 0 END) AS spend
                FROM {_t(Purchase)} p
                JOIN {_t(Member)} mem ON mem.id = p.member_id AND mem.shop_id = p.shop_id
                WHERE p.shop_id = %(shop)s AND p.status = %(completed)s
                  AND mem.status NOT IN (%(erased)s, %(merged)s)
                GROUP BY p.member_id
            ),
            scored AS (
                SELECT member_id, last_at, freq, spend,
                       {r_sql} AS r,
                       {f_sql} AS f,
                       {m_sql} AS m
                FROM stats
            )
            INSERT INTO {_t(MemberRfm)}
                (shop_id, member_id, last_purchase_at, frequency, monetary, r, f, m, "group",
                 computed_at)
            SELECT %(shop)s, member_id, last_at, freq, spend, r, f, m, {group_case_sql()}, %(now)s
            FROM scored
        """  # noqa: S608 - table names and the CASE come from code, values are parameters
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
                {
                    "since": _instant(since),
                    "shop": shop_id,
                    "completed": Purchase.Status.COMPLETED,
                    "erased": Member.Status.ERASED,
                    "merged": Member.Status.MERGED,
                    "now": _instant(now),
                    **score_params,
                },
            )
        # SQLite reports no row count for an INSERT that starts with WITH.
        scored = MemberRfm.objects.filter(shop_id=shop_id).count()
    return RfmRefresh(shop_id=shop_id, scored=scored)


def rfm_refresh_all(*, now: dt.datetime | None = None) -> dict[int, int]:
    """Every shop's refresh, one transaction per shop (safe to run twice: it recomputes)."""
    return {
        shop_id: rfm_refresh(shop_id=shop_id, now=now).scored
        for shop_id in Shop.objects.order_by("pk").values_list("pk", flat=True)
    }


REFRESH_SHOP_TASK = "campaigns.segments.tasks.refresh_rfm_shop"


def rfm_refresh_enqueue(*, shop_id: int) -> None:
    """Refresh one shop's RFM scores soon, in a django-q2 job started once the current transaction
    commits (so it reads the settings just saved); ``Q_CLUSTER["sync"]`` runs it at once."""
    from django_q.tasks import async_task

    sync = bool(settings.Q_CLUSTER.get("sync"))
    transaction.on_commit(
        lambda: async_task(
            REFRESH_SHOP_TASK, shop_id, sync=sync, task_name=f"refresh-rfm-{shop_id}"
        )
    )
