"""Reads for the member pages: the card, the history in a member's words, the rich-menu links.

The card is the page members open most, so its reads are counted (pinned by a test, SQLite and
PostgreSQL, whatever the length of the member's history): at most 4 queries.

1. the session (``django_session``);
2. the member, with its shop and tier (``select_related``) and, folded into the same row by
   ``for_card``: the seasonal background, the current QR code, the latest phone claim, the next
   tier and the points earned in the tier window (one aggregate subquery);
3. the open points grouped by expiry date (one grouped aggregate);
4. an INSERT of a new QR code, only when the member has no unused code of the last minute (a
   reload within the minute shows the same code and writes nothing).
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from dataclasses import dataclass, field

import segno
from django.db.models import (
    BigIntegerField,
    Case,
    DateTimeField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, JSONObject
from django.db.models.lookups import Exact
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.dates import local_midnight
from members.ledger import rules
from members.ledger.models import TIER_QUALIFYING_KINDS, EntryKind, LedgerEntry, PointLot
from members.ledger.selectors import TierProgress, member_entries, tier_progress
from members.models import Member
from members.pages import card_query
from members.phone_claims.selectors import with_latest_claim
from members.qr import fresh_codes
from shops.models import SeasonalBackground, Shop, Tier, TierWindow

EXPIRING_SOON_DAYS = 30  # batches expiring within this many days are highlighted
EXPIRING_SHOWN = 4  # how many expiry batches the card lists
HISTORY_PAGE = 20


def for_card(members: QuerySet[Member], *, now: dt.datetime | None = None):
    """Annotate what the card needs beyond the member, in the member's own query:
    ``season_image``, the shop's seasonal card background for today (if any);
    ``card_code``/``card_code_at``, the member's latest unused QR code of the last minute (so a
    reload shows it again instead of writing a new one); ``claim_phone``/``claim_status``, a
    phone number waiting for proof (``members.phone_claims``); ``next_tier``, the shop's next
    tier above the member's (a dict of its id, name, colour and threshold); and ``tier_earned``,
    the points that count for tiers earned in the shop's current tier window (see
    ``card_tier_progress``)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    season = (
        SeasonalBackground.objects.filter(
            shop=OuterRef("shop_id"), starts_on__lte=today, ends_on__gte=today
        )
        .order_by("-starts_on", "-id")
        .values("image")[:1]
    )
    codes = fresh_codes(OuterRef("pk"), now=now)
    # The entry tier has threshold 0 (thresholds are never negative): with no tier, every tier is
    # above the member's. One subquery for the next tier's four columns (as a JSON object).
    higher = Tier.objects.filter(
        shop=OuterRef("shop_id"), threshold__gt=Coalesce(OuterRef("tier__threshold"), -1)
    ).order_by("threshold", "id")
    next_tier = JSONObject(id="id", name="name", colour="colour", threshold="threshold")
    return with_latest_claim(members).annotate(
        season_image=Subquery(season),
        card_code=Subquery(codes.values("code")[:1]),
        card_code_at=Subquery(codes.values("created_at")[:1]),
        next_tier=Subquery(higher.values(json=next_tier)[:1]),
        tier_earned=_earned_in_tier_window(today),
    )


_BEFORE_ANY_ENTRY = dt.datetime.min.replace(tzinfo=dt.UTC)  # the lifetime window's "start"


def _earned_in_tier_window(today: dt.date):
    """The sum of ``members.ledger.services.earned_in_window`` over the shop's current tier window
    (``rules.current_window``), as an expression of the member's row: one aggregate subquery whose
    window starts where ``rules.current_window`` says for the shop's kind of window (0 when tiers
    are off). ``tests/members/pages/test_card.py`` checks it against ``tier_progress`` for every
    kind of window."""
    until = today + dt.timedelta(days=1)
    qualifying = Q(kind__in=TIER_QUALIFYING_KINDS) | Q(
        kind=EntryKind.REVERSAL, reversal_of__kind__in=TIER_QUALIFYING_KINDS
    )
    starts, ends = {}, set()
    for window in TierWindow.values:
        start, end = rules.current_window(until, window=window)
        starts[window] = local_midnight(start) if start is not None else None
        ends.add(end)
    (end,) = ends  # every kind of window ends with today
    start = Case(
        *(
            When(Exact(OuterRef("shop__tier_window"), window), then=Value(moment))
            for window, moment in starts.items()
            if moment is not None
        ),
        default=Value(_BEFORE_ANY_ENTRY),
        output_field=DateTimeField(),
    )
    total = (
        LedgerEntry.objects.filter(
            qualifying,
            member=OuterRef("pk"),
            created_at__lt=local_midnight(end),
            created_at__gte=start,
        )
        .order_by()
        .values("member")
        .annotate(total=Sum("points"))
        .values("total")
    )
    return Case(
        When(shop__tiers_enabled=True, then=Coalesce(Subquery(total), 0)),
        default=Value(0),
        output_field=BigIntegerField(),
    )


def card_tier_progress(member: Member, *, today: dt.date) -> TierProgress:
    """``members.ledger.selectors.tier_progress`` from what ``for_card`` loaded on the member's
    row (no query of its own): the current and the next tier, and the points earned in the tier
    window. ``tiers`` holds those two only: the card shows no more. Without the annotations, the
    ledger's ``tier_progress`` reads them itself."""
    if not hasattr(member, "tier_earned"):
        return tier_progress(member, today=today)
    nxt = Tier(shop=member.shop, **member.next_tier) if member.next_tier else None
    tiers = [t for t in (member.tier, nxt) if t is not None]
    return tier_progress(member, today=today, tiers=tiers, earned=member.tier_earned)


@dataclass(frozen=True)
class ExpiryBatch:
    expires_on: dt.date
    points: int
    soon: bool


@dataclass(frozen=True)
class CardView:
    member: Member
    progress: TierProgress
    balance: int
    spendable: int
    pending: int
    expiring: list[ExpiryBatch] = field(default_factory=list)
    more_batches: int = 0
    background_url: str = ""
    colour: str = ""


def _media_url(name: str | None) -> str:
    if not name:
        return ""
    from django.core.files.storage import default_storage

    return default_storage.url(name)


def points_by_expiry_query(member_id, *, today: dt.date):
    """The member's open points grouped by expiry date (None = never), soonest first, with how
    many of them are still pending (the shop's return window): ``expires_on``, ``points``,
    ``pending``. One grouped query, so a member with thousands of purchases costs as much as one
    with three."""
    return (
        PointLot.objects.filter(member_id=member_id, remaining__gt=0)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=today))
        .values("expires_on")
        .annotate(
            points=Sum("remaining"),
            pending=Sum(
                Case(
                    When(available_on__gt=today, then="remaining"),
                    default=0,
                    output_field=IntegerField(),
                )
            ),
        )
        .order_by("expires_on")
    )


def points_by_expiry(member: Member, *, today: dt.date) -> list[tuple[dt.date | None, int, int]]:
    """``points_by_expiry_query``'s rows as (expires_on, points, pending), its SQL compiled once
    (``members.pages.card_query``)."""
    rows = card_query.points_by_expiry_rows(member, today=today)
    return [(d, points or 0, pending or 0) for d, points, pending in rows]


def member_card(member: Member, *, today: dt.date | None = None) -> CardView:
    """Everything the card shows (``member`` loaded by ``member_required`` with shop and tier,
    annotated by ``for_card``): one query of its own, the open points by expiry date."""
    today = today or timezone.localdate()
    shop = member.shop
    progress = card_tier_progress(member, today=today)
    groups = points_by_expiry(member, today=today)
    pending = sum(p for _d, _t, p in groups)
    open_points = sum(t for _d, t, _p in groups)
    dated = [(d, t) for d, t, _p in groups if d is not None]
    soon = today + dt.timedelta(days=EXPIRING_SOON_DAYS)
    expiring = [ExpiryBatch(d, t, d <= soon) for d, t in dated[:EXPIRING_SHOWN]]
    tier = member.tier if shop.tiers_enabled else None
    background = (
        getattr(member, "season_image", None)
        or (tier.card_background.name if tier and tier.card_background else "")
        or (shop.card_background.name if shop.card_background else "")
    )
    return CardView(
        member=member,
        progress=progress,
        balance=member.balance,
        spendable=max(open_points - pending - member.debt, 0),
        pending=pending,
        expiring=expiring,
        more_batches=max(len(dated) - EXPIRING_SHOWN, 0),
        background_url=_media_url(background),
        colour=(tier.colour if tier else shop.primary_colour),
    )


@functools.lru_cache(maxsize=2048)
def qr_svg(text: str) -> str:
    """An inline SVG of a regular QR code (never a Micro QR, which phone scanners cannot read),
    sized by CSS. Cached: a code is shown again on every reload within its minute."""
    qr = segno.make_qr(text, error="m")
    return qr.svg_inline(border=2, omitsize=True, svgclass="member-qr-svg", dark="#111827")


def rewards_url(shop: Shop) -> str | None:
    """The rewards catalogue of the shop's member pages, once the rewards app provides one."""
    for kwargs in ({"kwargs": {"shop_slug": shop.slug}}, {"args": [shop.slug]}):
        try:
            return reverse("rewards:catalogue", **kwargs)
        except NoReverseMatch:
            continue
    return None


# --- history --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryLine:
    entry: LedgerEntry
    title: str
    detail: str
    points: int


def describe_entry(entry: LedgerEntry) -> tuple[str, str]:
    """An entry as the member reads it: a title and a detail line."""
    kind = entry.kind
    branch = entry.branch.name if entry.branch_id else ""
    if kind == EntryKind.EARN:
        title = (
            _("Purchase at %(branch)s") % {"branch": branch} if branch else _("Purchase in store")
        )
        detail = ""
        if entry.purchase_id:
            detail = _("Spent %(amount)s baht") % {"amount": f"{entry.purchase.amount:,.2f}"}
        return title, detail
    if kind == EntryKind.ORDER:
        return _("Online order"), entry.reference
    if kind == EntryKind.WELCOME:
        return _("Welcome points"), _("Thank you for joining")
    if kind == EntryKind.ACTIVITY:
        return _("Activity points"), entry.note
    if kind == EntryKind.IMPORT:
        return _("Points brought over"), entry.note
    if kind == EntryKind.ADJUST:
        return _("Adjusted by the shop"), entry.note
    if kind == EntryKind.REDEEM:
        reward = entry.note or entry.reference
        title = _("Used for %(reward)s") % {"reward": reward} if reward else _("Used for a reward")
        return title, branch
    if kind == EntryKind.EXPIRE:
        return _("Points expired"), ""
    if kind == EntryKind.REVERSAL:
        original = entry.reversal_of
        if original is not None and original.kind == EntryKind.REDEEM:
            return _("Points returned"), original.note or original.reference
        if original is not None and original.kind in (EntryKind.EARN, EntryKind.ORDER):
            return _("Purchase cancelled"), branch or entry.reference
        return _("Correction"), entry.note
    return entry.get_kind_display(), entry.note


def member_history(
    member: Member, *, before: uuid.UUID | None = None, limit: int = HISTORY_PAGE
) -> tuple[list[HistoryLine], uuid.UUID | None]:
    """One page of the member's history, newest first, and the cursor of the next (older) page.

    The cursor is an entry's public id (URLs never carry sequential ids); it is looked up within
    the member's own entries, so another member's entry id shows the first page.
    """
    before_id = None
    if before is not None:
        before_id = (
            LedgerEntry.objects.filter(member=member, public_id=before)
            .values_list("pk", flat=True)
            .first()
        )
    entries, next_id = member_entries(member, before_id=before_id, limit=limit)
    lines = []
    for entry in entries:
        title, detail = describe_entry(entry)
        lines.append(HistoryLine(entry, title, detail, entry.points))
    next_cursor = None
    if next_id is not None:
        next_cursor = next(e.public_id for e in entries if e.pk == next_id)
    return lines, next_cursor


# --- rich menu ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RichMenuLink:
    name: str
    url: str
    available: bool = True


def rich_menu_links(shop: Shop, *, base_url: str, liff_id: str = "") -> list[RichMenuLink]:
    """The links a shop pastes into its LINE OA rich menu: card, sign-up, history, rewards.

    With a LIFF app, links go through ``https://liff.line.me/<LIFF ID>/<path>`` so LINE opens them
    in LIFF and signs the member in silently (the LIFF endpoint URL must be the member pages'
    home, see docs/member-pages.md); without one, they are plain links to the member pages.
    """
    home = reverse("member:home", kwargs={"shop_slug": shop.slug})

    def link(path: str) -> str:
        if liff_id:
            return f"https://liff.line.me/{liff_id}/{path[len(home) :]}".rstrip("/")
        return base_url.rstrip("/") + path

    links = [
        RichMenuLink(
            _("Member card"), link(reverse("member:card", kwargs={"shop_slug": shop.slug}))
        ),
        RichMenuLink(_("Sign up"), link(reverse("member:signup", kwargs={"shop_slug": shop.slug}))),
        RichMenuLink(
            _("Points history"), link(reverse("member:history", kwargs={"shop_slug": shop.slug}))
        ),
    ]
    rewards = rewards_url(shop)
    links.append(
        RichMenuLink(_("Rewards"), link(rewards) if rewards else "", available=bool(rewards))
    )
    return links
