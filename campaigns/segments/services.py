"""Writes of segments: saving a segment, and the RFM refresh."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.segments.conditions import parse_conditions
from campaigns.segments.models import MemberRfm, Segment
from campaigns.segments.rfm import group_case_sql
from loyalty.errors import Conflict, InvalidInput
from members.ledger.models import Purchase
from members.models import Member
from shops.models import Shop

DEFAULT_WINDOW_DAYS = 365


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


def rfm_refresh(
    *, shop_id: int, window_days: int = DEFAULT_WINDOW_DAYS, now: dt.datetime | None = None
) -> RfmRefresh:
    """Recompute the RFM scores of every member of the shop with a completed purchase, in two SQL
    statements (delete, insert from one ranked select; no Python loop over members).

    Recency is the last completed purchase ever (a member who last bought before the window is
    scored, low, and lands among "lost" rather than vanishing); frequency and spend count the
    window only. Refunded (reversed) purchases do not count; erased and merged members get no
    score. The shop row is locked first so two refreshes of one shop run one after the other."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=window_days)
    with transaction.atomic():
        Shop.objects.select_for_update().filter(pk=shop_id).values_list("pk").first()
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
                       {score_sql("last_at")} AS r,
                       {score_sql("freq")} AS f,
                       {score_sql("spend")} AS m
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
                    "since": since,
                    "shop": shop_id,
                    "completed": Purchase.Status.COMPLETED,
                    "erased": Member.Status.ERASED,
                    "merged": Member.Status.MERGED,
                    "now": now,
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
