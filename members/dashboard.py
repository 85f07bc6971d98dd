"""The admin home page: the shop's key numbers at a glance."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Member
from shops.models import Branch, Shop
from shops.tenancy import is_platform_operator, request_shop


def shop_key_numbers(*, shop: Shop | None, all_shops: bool = False) -> dict:
    """Counts for the dashboard: one shop's, or every shop's for the platform operator
    (``all_shops``). Neither (a staff account with no shop) counts nothing."""
    members = Member.objects.exclude(status=Member.Status.ERASED)
    branches = Branch.objects.filter(is_active=True)
    if not all_shops:
        members = members.filter(shop=shop) if shop is not None else members.none()
        branches = branches.filter(shop=shop) if shop is not None else branches.none()
    today = timezone.localdate()
    month_start = today.replace(day=1)
    last_30 = timezone.now() - timedelta(days=30)
    counts = members.aggregate(
        total=Count("id"),
        registered=Count("id", filter=Q(status=Member.Status.REGISTERED)),
        pending=Count("id", filter=Q(status=Member.Status.PENDING)),
        bound=Count("id", filter=Q(bound_at__isnull=False)),
        new_month=Count("id", filter=Q(created_at__date__gte=month_start)),
        new_30=Count("id", filter=Q(created_at__gte=last_30)),
    )
    counts["branches"] = branches.count()
    by_tier = list(members.values("tier__name").annotate(n=Count("id")).order_by("-n")[:6])
    counts["by_tier"] = [
        {"name": row["tier__name"] or _("No tier"), "count": row["n"]} for row in by_tier
    ]
    return counts


def dashboard_callback(request, context: dict) -> dict:
    operator = is_platform_operator(request)
    shop = None if operator else request_shop(request)
    numbers = shop_key_numbers(shop=shop, all_shops=operator)
    cards = [
        {"title": _("Members"), "value": numbers["total"], "icon": "group"},
        {"title": _("Registered"), "value": numbers["registered"], "icon": "how_to_reg"},
        {"title": _("Pending (phone only)"), "value": numbers["pending"], "icon": "hourglass"},
        {"title": _("New this month"), "value": numbers["new_month"], "icon": "person_add"},
        {"title": _("Bound to LINE"), "value": numbers["bound"], "icon": "link"},
        {"title": _("Active branches"), "value": numbers["branches"], "icon": "store"},
    ]
    context.update(
        {
            "dashboard_shop": shop,
            "dashboard_cards": cards,
            "dashboard_tiers": numbers["by_tier"],
        }
    )
    return context
