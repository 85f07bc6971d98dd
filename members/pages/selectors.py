"""Reads for the member pages: the card, the history in a member's words, the rich-menu links.

The card is the page members open most, so its reads are counted: with ``for_card`` folded into
the member query, the card needs the session, the member (with shop, tier, the seasonal
background and the current QR code), the tiers, the points earned in the tier window, and the
open points grouped by expiry date — whatever the length of the member's history (pinned by a
test). A reload within the minute shows the same QR code, so most card views write nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from dataclasses import dataclass, field

import segno
from django.db.models import Case, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, When
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from members.ledger.models import EntryKind, LedgerEntry, PointLot
from members.ledger.selectors import TierProgress, member_entries, tier_progress
from members.models import Member
from members.phone_claims.selectors import with_latest_claim
from members.qr import fresh_codes
from shops.models import SeasonalBackground, Shop

EXPIRING_SOON_DAYS = 30  # batches expiring within this many days are highlighted
EXPIRING_SHOWN = 4  # how many expiry batches the card lists
HISTORY_PAGE = 20


def for_card(members: QuerySet[Member], *, now: dt.datetime | None = None):
    """Annotate what the card needs beyond the member, in the member's own query:
    ``season_image``, the shop's seasonal card background for today (if any), and
    ``card_code``/``card_code_at``, the member's latest unused QR code of the last minute (so a
    reload shows it again instead of writing a new one); and ``claim_phone``/``claim_status``, a
    phone number waiting for proof (``members.phone_claims``)."""
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
    return with_latest_claim(members).annotate(
        season_image=Subquery(season),
        card_code=Subquery(codes.values("code")[:1]),
        card_code_at=Subquery(codes.values("created_at")[:1]),
    )


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


def points_by_expiry(member: Member, *, today: dt.date) -> list[tuple[dt.date | None, int, int]]:
    """The member's open points grouped by expiry date (None = never), soonest first, with how
    many of them are still pending (the shop's return window). One grouped query, so a member
    with thousands of purchases costs as much as one with three."""
    rows = (
        PointLot.objects.filter(member=member, remaining__gt=0)
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
    return [(r["expires_on"], r["points"] or 0, r["pending"] or 0) for r in rows]


def member_card(member: Member, *, today: dt.date | None = None) -> CardView:
    """Everything the card shows (``member`` loaded by ``member_required`` with shop and tier)."""
    today = today or timezone.localdate()
    shop = member.shop
    progress = tier_progress(member, today=today)
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
