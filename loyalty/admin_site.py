"""The back-office sidebar, grouped by what an owner does rather than by Django app.

Later issues add their pages by appending to ``SIDEBAR``; an item appears only when its model is
registered in the admin and the user may view it, so nothing links to a page that 403s.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

# (group title, [(item title, material-symbol icon, "app_label.model" or URL name), ...])
SIDEBAR: list[tuple] = [
    (
        _("Shop setup"),
        [
            (_("Shop profile and policies"), "storefront", "shops.shop"),
            (_("Branches"), "store", "shops.branch"),
            (_("Tiers"), "workspace_premium", "shops.tier"),
            (_("Tags"), "sell", "shops.tag"),
            (_("Card backgrounds"), "wallpaper", "shops.seasonalbackground"),
            (_("Terms and privacy"), "gavel", "shops.policydocument"),
            (_("LINE settings"), "chat", "shops.shoplinechannel"),
            (_("LINE notifications"), "notifications", "members.notificationsetting"),
            (_("Sign-up questions"), "quiz", "members.signupquestion"),
            (_("Staff accounts"), "badge", "shops.user"),
            (_("Staff invites"), "person_add", "shops.staffinvite"),
            (_("Staff activity"), "manage_search", "shops.staffaction"),
            (_("API keys"), "key", "shops.apikey"),
        ],
    ),
    (
        _("Members"),
        [
            (_("Members"), "group", "members.member"),
            (_("Import members"), "upload_file", "admin:members_importjob_upload"),
            (_("Import history"), "history", "members.importjob"),
            (_("Consent records"), "verified_user", "members.consentrecord"),
            (_("LINE friends"), "diversity_3", "members.linefriend"),
            (_("LINE webhook events"), "webhook", "members.webhookevent"),
            (_("LINE outbox"), "outgoing_mail", "loyalty.outboxmessage"),
        ],
    ),
    (
        _("Points"),
        [
            (_("Points ledger"), "receipt_long", "members.ledgerentry"),
            (_("Purchases"), "shopping_cart", "members.purchase"),
            (_("Products"), "inventory_2", "members.product"),
        ],
    ),
    (
        _("Rewards"),
        [
            (_("Rewards"), "redeem", "rewards.reward"),
            (_("Redemptions"), "receipt", "rewards.redemption"),
            (_("Coupons"), "confirmation_number", "rewards.coupon"),
            (_("Deliveries"), "local_shipping", "rewards.delivery"),
        ],
    ),
    (
        _("LINE chat"),
        [
            (_("Rich menus"), "menu", "campaigns.richmenu"),
            (_("Keyword replies"), "quickreply", "campaigns.keywordrule"),
            (_("Greeting"), "waving_hand", "campaigns.greeting"),
            (_("Typed keywords"), "manage_search", "campaigns.typedkeyword"),
        ],
    ),
    (
        _("Campaigns"),
        [
            (_("Broadcasts"), "campaign", "campaigns.broadcast"),
            (_("Segments"), "filter_alt", "campaigns.segment"),
            (_("RFM groups"), "grid_view", "admin:campaigns_segment_rfm"),
            (_("RFM settings"), "tune", "campaigns.rfmsettings"),
            (_("SMS settings"), "sms", "campaigns.smssettings"),
            (_("SMS messages"), "textsms", "campaigns.smsmessage"),
            (_("SMS opt-outs"), "block", "campaigns.smsoptout"),
        ],
    ),
    (
        _("Platform"),
        [
            (_("Scheduled jobs"), "schedule", "django_q.schedule"),
            (_("Failed jobs"), "error", "django_q.failure"),
            (_("Sign-in lock-outs"), "lock", "axes.accessattempt"),
        ],
    ),
]


def _model_link(request, target: str):
    app_label, model_name = target.split(".")
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label == app_label and model._meta.model_name == model_name:
            if not model_admin.has_view_or_change_permission(request):
                return None
            return reverse(f"admin:{app_label}_{model_name}_changelist")
    return None


def _link(request, target: str):
    if target.count(".") == 1 and ":" not in target:
        return _model_link(request, target)
    try:
        return reverse(target)
    except NoReverseMatch:
        return None


def sidebar_navigation(request) -> list[dict]:
    """Unfold's SIDEBAR["navigation"], built per request from ``SIDEBAR`` and the permissions."""
    groups = []
    for title, items in SIDEBAR:
        visible = []
        for item_title, icon, target in items:
            link = _link(request, target)
            if link:
                visible.append({"title": item_title, "icon": icon, "link": link})
        if visible:
            groups.append(
                {"title": title, "separator": True, "collapsible": False, "items": visible}
            )
    if groups:
        groups[0]["items"].insert(
            0, {"title": _("Dashboard"), "icon": "dashboard", "link": reverse("admin:index")}
        )
    return groups


def environment_callback(request):
    if settings.DEBUG:
        return [_("Demo"), "warning"]
    return None
