"""A segment's conditions: what each kind means, how it is read from stored JSON (and refused with a
translated message), and how it becomes a filter on ``Member``.

A segment is a list of conditions combined with AND; a condition with several values matches any of
them (OR) unless its mode says otherwise ("has all", "bought all"). Every condition is one SQL
predicate (``Exists`` subqueries, no Python loop over members), so a count stays one statement
however many conditions there are.

Who is a member here: registered and pending members of the shop (pending = known by phone, not
signed up). Blocked, erased and merged accounts are never in a segment.

Kinds (the ``kind`` key of the stored JSON):

- ``all``: everyone.
- ``rfm``: ``groups``: RFM groups (campaigns.segments.rfm), from the nightly scores.
- ``purchased``: ``mode`` any / all / none, ``products`` (up to 5 SKUs or names, matched exactly,
  case-insensitively, on the items recorded with completed purchases), optional ``since`` / ``until``
  dates (shop-local days, inclusive).
- ``tags``: ``mode`` any / all / none, ``tags`` (tag ids of the shop).
- ``balance``: ``min`` and/or ``max`` points (inclusive).
- ``birth_month``: ``months`` 1–12.
- ``tier``: ``tiers`` (tier ids of the shop).
- ``pending``: known by phone, not signed up.
- ``members``: ``members`` (member ids of the shop, picked or pasted).
- ``bound``: ``bound`` true (bound to LINE) or false.
- ``line_friend``: ``friend`` true (a friend of the OA, not blocked) or false.
- ``joined``: ``since`` / ``until``: the day the shop first knew the member.
- ``last_visit``: ``since`` / ``until``: the day of the last completed purchase.
- ``last_visit_branch``: ``branches``: branch ids; the branch of the last completed purchase.
- ``reward``: ``rewards``: reward ids of the shop; can redeem any of them now (points spendable
  today, tier, per-member limit, stock, active and open: the redemption's own rules).
- ``signup_answer``: ``question`` (a sign-up question of the shop) with ``choices`` (choice ids of
  that question: answered any of them) or ``answered`` true / false (answered it at all).

``reward`` and ``signup_answer`` live in ``conditions_more.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Upper
from django.utils.translation import gettext as _

from campaigns.segments.conditions_more import (
    parse_reward,
    parse_signup_answer,
    q_reward,
    q_signup_answer,
)
from campaigns.segments.models import MemberRfm
from campaigns.segments.rfm import RfmGroup
from loyalty.dates import local_midnight
from loyalty.lookups import AnyOf
from members.ledger.models import PurchaseProduct
from members.line.models import LineFriend
from members.models import Member
from shops.models import Branch, Tag, Tier

MAX_PRODUCTS = 5
MODES = ("any", "all", "none")
TARGETABLE = (Member.Status.REGISTERED, Member.Status.PENDING)


@dataclass(frozen=True)
class Condition:
    kind: str
    values: dict[str, Any]

    def to_q(self, shop_id: int) -> Q:
        return _BUILDERS[self.kind](shop_id, self.values)


def segment_members(shop_id: int, conditions: Iterable[Condition]) -> QuerySet[Member]:
    """The shop's members that meet every condition."""
    queryset = Member.objects.filter(shop_id=shop_id, status__in=TARGETABLE)
    for condition in conditions:
        queryset = queryset.filter(condition.to_q(shop_id))
    return queryset


# --- reading stored conditions --------------------------------------------------------------------


def parse_conditions(shop_id: int, data: Any) -> list[Condition]:
    """Stored JSON → conditions, checked: known kinds, values of the right type, and ids (tags, tiers,
    branches, members, rewards, sign-up questions and choices) that belong to this shop. Raises
    ``ValidationError`` with every problem."""
    if not isinstance(data, list):
        raise ValidationError(_("Conditions must be a list."))
    errors: list[str] = []
    conditions = []
    for number, item in enumerate(data, start=1):
        kind = item.get("kind") if isinstance(item, dict) else None
        if kind not in _PARSERS:
            errors.append(_("Condition %(n)s: unknown kind.") % {"n": number})
            continue
        try:
            values = _PARSERS[kind](shop_id, item)
        except ValidationError as exc:
            errors.extend(
                _("Condition %(n)s: %(message)s") % {"n": number, "message": message}
                for message in exc.messages
            )
            continue
        conditions.append(Condition(kind, values))
    if errors:
        raise ValidationError(errors)
    return conditions


def _id_messages() -> dict[str, tuple[str, str]]:
    # Whole sentences per kind of id (a translated noun dropped into a sentence reads wrong in Thai).
    return {
        "tags": (_("choose at least one tag."), _("some of the tags are not this shop's.")),
        "tiers": (_("choose at least one tier."), _("some of the tiers are not this shop's.")),
        "branches": (
            _("choose at least one branch."),
            _("some of the branches are not this shop's."),
        ),
        "members": (
            _("choose at least one member."),
            _("some of the members are not this shop's."),
        ),
    }


def _ids(shop_id: int, item: dict, key: str, model) -> list[int]:
    missing, foreign = _id_messages()[key]
    raw = item.get(key)
    if not isinstance(raw, list) or not raw:
        raise ValidationError(missing)
    try:
        ids = sorted({int(value) for value in raw})
    except (TypeError, ValueError):
        raise ValidationError(foreign) from None
    if model.objects.filter(AnyOf(F("pk"), ids), shop_id=shop_id).count() != len(ids):
        raise ValidationError(foreign)
    return ids


def _mode(item: dict) -> str:
    mode = item.get("mode", "any")
    if mode not in MODES:
        raise ValidationError(_("the mode must be any, all or none."))
    return mode


def _date(item: dict, key: str) -> dt.date | None:
    raw = item.get(key)
    if raw in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        raise ValidationError(_("%(value)s is not a date (YYYY-MM-DD).") % {"value": raw}) from None


def _window(item: dict) -> dict[str, Any]:
    since, until = _date(item, "since"), _date(item, "until")
    if since and until and since > until:
        raise ValidationError(_("the start date is after the end date."))
    return {"since": since, "until": until}


def _int(item: dict, key: str) -> int | None:
    raw = item.get(key)
    if raw in (None, ""):
        return None
    if isinstance(raw, bool):
        raise ValidationError(_("%(value)s is not a whole number.") % {"value": raw})
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ValidationError(_("%(value)s is not a whole number.") % {"value": raw}) from None


def _flag(item: dict, key: str) -> bool:
    raw = item.get(key, True)
    if not isinstance(raw, bool):
        raise ValidationError(_("choose yes or no."))
    return raw


def _parse_rfm(shop_id: int, item: dict) -> dict:
    groups = item.get("groups")
    if not isinstance(groups, list) or not groups:
        raise ValidationError(_("choose at least one RFM group."))
    if not all(isinstance(group, str) for group in groups) or not set(groups) <= set(
        RfmGroup.values
    ):
        raise ValidationError(_("unknown RFM group."))
    return {"groups": sorted(set(groups))}


def _parse_purchased(shop_id: int, item: dict) -> dict:
    products = item.get("products")
    if not isinstance(products, list):
        raise ValidationError(_("list the products (SKU or name)."))
    products = sorted({str(p).strip() for p in products if str(p).strip()})
    if not products:
        raise ValidationError(_("list the products (SKU or name)."))
    if len(products) > MAX_PRODUCTS:
        raise ValidationError(_("at most %(n)s products.") % {"n": MAX_PRODUCTS})
    return {"mode": _mode(item), "products": products, **_window(item)}


def _parse_tags(shop_id: int, item: dict) -> dict:
    return {"mode": _mode(item), "tags": _ids(shop_id, item, "tags", Tag)}


def _parse_balance(shop_id: int, item: dict) -> dict:
    low, high = _int(item, "min"), _int(item, "max")
    if low is None and high is None:
        raise ValidationError(_("give a lowest or a highest balance."))
    if low is not None and high is not None and low > high:
        raise ValidationError(_("the lowest balance is above the highest."))
    return {"min": low, "max": high}


def _parse_birth_month(shop_id: int, item: dict) -> dict:
    months = item.get("months")
    if not isinstance(months, list) or not months:
        raise ValidationError(_("choose at least one month."))
    try:
        months = sorted({int(m) for m in months})
    except (TypeError, ValueError):
        raise ValidationError(_("months are 1 to 12.")) from None
    if not all(1 <= m <= 12 for m in months):
        raise ValidationError(_("months are 1 to 12."))
    return {"months": months}


def _parse_tier(shop_id: int, item: dict) -> dict:
    return {"tiers": _ids(shop_id, item, "tiers", Tier)}


def _parse_members(shop_id: int, item: dict) -> dict:
    return {"members": _ids(shop_id, item, "members", Member)}


def _parse_branches(shop_id: int, item: dict) -> dict:
    return {"branches": _ids(shop_id, item, "branches", Branch)}


_PARSERS = {
    "all": lambda shop_id, item: {},
    "rfm": _parse_rfm,
    "purchased": _parse_purchased,
    "tags": _parse_tags,
    "balance": _parse_balance,
    "birth_month": _parse_birth_month,
    "tier": _parse_tier,
    "pending": lambda shop_id, item: {},
    "members": _parse_members,
    "bound": lambda shop_id, item: {"bound": _flag(item, "bound")},
    "line_friend": lambda shop_id, item: {"friend": _flag(item, "friend")},
    "joined": lambda shop_id, item: _window(item),
    "last_visit": lambda shop_id, item: _window(item),
    "last_visit_branch": _parse_branches,
    "reward": parse_reward,
    "signup_answer": parse_signup_answer,
}


# --- conditions as SQL ----------------------------------------------------------------------------


def _between(field: str, since: dt.date | None, until: dt.date | None) -> Q:
    q = Q()
    if since:
        q &= Q(**{f"{field}__gte": local_midnight(since)})
    if until:
        q &= Q(**{f"{field}__lt": local_midnight(until + dt.timedelta(days=1))})
    return q


def _bought(shop_id: int, products: list[str], values: dict) -> Exists:
    """Bought any of ``products`` (an item's SKU or name, any case) in the window, from the
    ledger's narrow ``PurchaseProduct`` rows (members.ledger.visits): one EXISTS for all of them,
    so that "none of" is one anti-join, not a NOT (EXISTS … OR EXISTS …) run per member."""
    bought = PurchaseProduct.objects.filter(
        shop_id=shop_id,
        member_id=OuterRef("pk"),
        key__in=[Upper(Value(product)) for product in products],
    ).filter(_between("purchased_at", values["since"], values["until"]))
    return Exists(bought)


def _q_purchased(shop_id: int, values: dict) -> Q:
    if values["mode"] == "all":
        return _and([Q(_bought(shop_id, [product], values)) for product in values["products"]])
    either = Q(_bought(shop_id, values["products"], values))
    return ~either if values["mode"] == "none" else either


def _q_tags(shop_id: int, values: dict) -> Q:
    through = Member.tags.through
    has = [
        Q(Exists(through.objects.filter(member_id=OuterRef("pk"), tag_id=tag_id)))
        for tag_id in values["tags"]
    ]
    if values["mode"] == "all":
        return _and(has)
    either = Q(Exists(through.objects.filter(member_id=OuterRef("pk"), tag_id__in=values["tags"])))
    return ~either if values["mode"] == "none" else either


def _q_balance(shop_id: int, values: dict) -> Q:
    q = Q()
    if values["min"] is not None:
        q &= Q(balance__gte=values["min"])
    if values["max"] is not None:
        q &= Q(balance__lte=values["max"])
    return q


def _q_friend(shop_id: int, values: dict) -> Q:
    friend = Q(
        Exists(
            LineFriend.objects.filter(
                shop_id=shop_id,
                line_user_id=OuterRef("line_user_id"),
                state=LineFriend.State.FRIEND,
            )
        )
    )
    return friend if values["friend"] else ~friend


def _q_last_visit_branch(shop_id: int, values: dict) -> Q:
    # The branch of each member's latest completed purchase, kept on the member row by the
    # ledger (members.ledger.visits): one row per member, not ten million purchases.
    return Q(last_visit_branch_id__in=values["branches"])


def _q_last_visit(shop_id: int, values: dict) -> Q:
    # The last purchase (kept on the member row, as above) is in the window.
    return Q(last_visit_at__isnull=False) & _between(
        "last_visit_at", values["since"], values["until"]
    )


def _and(qs: list[Q]) -> Q:
    result = Q()
    for q in qs:
        result &= q
    return result


def _or(qs: list[Q]) -> Q:
    result = qs[0]
    for q in qs[1:]:
        result |= q
    return result


_BUILDERS = {
    "all": lambda shop_id, values: Q(),
    "rfm": lambda shop_id, values: Q(
        Exists(
            MemberRfm.objects.filter(
                shop_id=shop_id, member_id=OuterRef("pk"), group__in=values["groups"]
            )
        )
    ),
    "purchased": _q_purchased,
    "tags": _q_tags,
    "balance": _q_balance,
    "birth_month": lambda shop_id, values: Q(birthday__month__in=values["months"]),
    "tier": lambda shop_id, values: Q(tier_id__in=values["tiers"]),
    "pending": lambda shop_id, values: Q(status=Member.Status.PENDING),
    "members": lambda shop_id, values: Q(AnyOf(F("pk"), values["members"])),
    "bound": lambda shop_id, values: (
        Q(bound_at__isnull=False) if values["bound"] else Q(bound_at__isnull=True)
    ),
    "line_friend": _q_friend,
    "joined": lambda shop_id, values: _between("created_at", values["since"], values["until"]),
    "last_visit": _q_last_visit,
    "last_visit_branch": _q_last_visit_branch,
    "reward": q_reward,
    "signup_answer": q_signup_answer,
}
