"""Every page, rendered with the data real use produces (see ``tests.pages_world``): each staff
page, each member page, and each admin list, form and custom view, for the people who open them.

A page must answer 200 (or the redirect or refusal written down here) and must not look up a
variable that does not exist in one of our templates: ``string_if_invalid`` records each such
lookup with the template it happened in (Django's and the admin theme's own templates rely on
silent lookups and are not ours to judge).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.contrib import admin
from django.template.base import FilterExpression, Node
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.line_fixtures import fake_line
from tests.members.pages.conftest import liff_sign_in
from tests.members.staff.conftest import staff_client
from tests.pages_world import NOW, World, build_world

__all__ = ["fake_line"]

pytestmark = pytest.mark.django_db

OURS = Path(settings.BASE_DIR).resolve()


class InvalidLookups(str):
    """``string_if_invalid`` that notes each failed lookup of a variable made by one of our
    templates, and otherwise behaves as Django's default (an empty string, filters still applied,
    so a broken filter argument still fails). ``{{ x|default:y }}`` says that ``x`` may be missing
    and is not noted; ``{% if x %}`` never asks."""

    found: list[str]

    def __new__(cls):
        self = super().__new__(cls, "")
        self.found = []
        return self

    def __bool__(self) -> bool:
        # Django asks ``if string_if_invalid:`` in FilterExpression.resolve right after a failed
        # lookup; answering False makes it carry on exactly as with the default "".
        caller = sys._getframe(1)
        expression = caller.f_locals.get("self")
        if caller.f_code.co_name == "resolve" and isinstance(expression, FilterExpression):
            filters = [f.__name__ for f, _args in expression.filters]
            origin = _template_of(caller)
            if origin is not None and "default" not in filters:
                self.found.append(f"{origin}: {expression.var}")
        return False


def _template_of(frame) -> str | None:
    """Our template file whose node is being rendered in ``frame`` or a frame above it."""
    while frame is not None:
        node = frame.f_locals.get("self")
        if isinstance(node, Node) and getattr(node, "origin", None) is not None:
            name = Path(str(node.origin.name)).resolve()
            if name.is_relative_to(OURS) and "site-packages" not in name.parts:
                return str(name.relative_to(OURS))
            return None
        frame = frame.f_back
    return None


@pytest.fixture
def invalid_lookups(settings) -> InvalidLookups:
    recorder = InvalidLookups()
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "OPTIONS": {**settings.TEMPLATES[0]["OPTIONS"]}}
    ]
    settings.TEMPLATES[0]["OPTIONS"]["string_if_invalid"] = recorder
    return recorder


@pytest.fixture
def world(client, fake_line, tmp_path, settings) -> Iterator[World]:
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    built = build_world(client, fake_line, tmp_path)
    with time_machine.travel(NOW, tick=False):
        liff_sign_in(client, fake_line, built.shop)  # the October session has expired
        yield built


def named_urls(namespace: str) -> dict[str, str]:
    """Every URL name in ``namespace`` with its route, walked from the URL configuration."""
    found: dict[str, str] = {}

    def walk(patterns, prefix: str, current: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                name = pattern.namespace or ""
                walk(pattern.url_patterns, prefix + str(pattern.pattern), name or current)
            elif isinstance(pattern, URLPattern) and pattern.name and current == namespace:
                found.setdefault(pattern.name, prefix + str(pattern.pattern))

    walk(get_resolver().url_patterns, "", "")
    return found


def check(client: Client, url: str, expected: int, problems: list[str], lookups) -> None:
    before = len(lookups.found)
    response = client.get(url)
    if response.status_code != expected:
        problems.append(f"GET {url}: {response.status_code}, expected {expected}")
    for lookup in lookups.found[before:]:
        problems.append(f"GET {url}: missing variable {lookup}")
    if response.get("Content-Type", "").startswith("text/html"):
        # Every screen here is Thai (the shop's language): years are Buddhist Era.
        # A row's id in its own URL (``/ledgerentry/2026/change/``) is shown on the page and is
        # not a year: PostgreSQL's sequences reach 2026 in a long run.
        ids = set(re.findall(r"/(\d+)/", url))
        for shown in common_era_dates(response):
            if not re.fullmatch(r"#?\s*(\d+)", shown) or shown.lstrip("# ") not in ids:
                problems.append(f"GET {url}: a Common Era year in {shown!r}")


# --- the staff app ------------------------------------------------------------------------------

# What GET answers where it is not a page (POST-only steps) or is a redirect.
STAFF_NOT_200 = {
    "login": 302,  # signed in already: on to the app
    "logout": 405,
    "find": 405,
    "review": 405,
    "confirm": 405,
    "claim_cancel": 405,
    "coupon_confirm": 405,
    "delivery_hand_over": 405,
    "approve": 405,
}


def staff_kwargs(world: World, name: str, route: str) -> dict:
    values = {
        "member_id": world.member.public_id,
        "entry_id": world.entries["store"].public_id,
        "claim_id": world.objects["open_claim"].public_id,
        "token": world.invite_token,
        "redemption_id": (
            world.redemptions["delivery_handed_over"].public_id
            if name == "delivery_done"
            else world.redemptions["delivery"].public_id
            if name.startswith("delivery")
            else world.redemptions["coupon_used"].public_id
        ),
    }
    return {key: values[key] for key in values if f":{key}>" in route}


@pytest.mark.parametrize("role", ["cashier", "manager"])
def test_every_staff_page_renders(world, invalid_lookups, role):
    user = getattr(world, role)
    client = staff_client(user, world.branch)
    problems: list[str] = []
    for name, route in sorted(named_urls("staff").items()):
        url = reverse(f"staff:{name}", kwargs=staff_kwargs(world, name, route))
        expected = 403 if (role, name) == ("cashier", "void") else STAFF_NOT_200.get(name, 200)
        check(client, url, expected, problems, invalid_lookups)
    # Each other entry's "done" page, and the counter page of the member with no name.
    for entry in world.entries.values():
        if entry.branch_id == world.branch.pk and entry.kind == "earn":
            url = reverse("staff:done", args=[entry.public_id])
            check(client, url, 200, problems, invalid_lookups)
    for member in (world.nameless, world.member):
        check(
            client, reverse("staff:member", args=[member.public_id]), 200, problems, invalid_lookups
        )
        url = reverse("staff:delivery_member", args=[member.public_id])
        check(client, url, 200, problems, invalid_lookups)

    assert not problems, "\n".join(problems)


def test_a_missing_variable_in_one_of_our_templates_is_noticed(invalid_lookups):
    from django.template.loader import render_to_string

    render_to_string("members/staff/_member_card.html", {"member": None})

    assert invalid_lookups.found
    assert all(
        f.startswith("members/templates/members/staff/_member_card.html: ")
        for f in invalid_lookups.found
    )


# --- the member pages ---------------------------------------------------------------------------

MEMBER_NOT_200 = {
    ("member", "home"): 302,  # on to the card
    ("member", "callback"): 400,  # LINE Login's answer, without LINE's parameters
    ("member", "card_code"): 405,
    ("member", "marketing"): 405,
    ("member", "notices"): 405,
    ("member", "liff"): 405,
    ("member", "logout"): 405,
    ("member", "phone_send"): 405,
    ("member", "phone_verify"): 405,
    ("member", "phone_withdraw"): 405,
    ("member", "signup"): 302,  # a member already: on to the card
    ("member", "link"): 400,  # the account-link page, without the link token LINE's chat gives
}


def test_every_member_page_renders(world, client, invalid_lookups):
    problems: list[str] = []
    shop_slug = world.shop.slug
    routes = [("member", n, r) for n, r in named_urls("member").items()]
    routes += [("rewards", n, r) for n, r in named_urls("rewards").items()]
    for namespace, name, route in sorted(routes):
        kwargs = {"shop_slug": shop_slug}
        if ":reward_id>" in route:
            key = "coupon" if name.startswith("counter") else "fresh"
            kwargs["reward_id"] = world.rewards[key].public_id
        if ":redemption_id>" in route:
            key = "delivery" if name == "delivery" else "coupon"
            kwargs["redemption_id"] = world.redemptions[key].public_id
        url = reverse(f"{namespace}:{name}", kwargs=kwargs)
        check(client, url, MEMBER_NOT_200.get((namespace, name), 200), problems, invalid_lookups)
    # Every reward, every coupon and every delivery in each of their states.
    for reward in world.rewards.values():
        url = reverse("rewards:detail", args=[shop_slug, reward.public_id])
        check(client, url, 200, problems, invalid_lookups)
        # A reward redeemed at the counter has no confirmation page: back to the reward's page.
        url = reverse("rewards:redeem", args=[shop_slug, reward.public_id])
        check(client, url, 302 if reward.spot_redemption else 200, problems, invalid_lookups)
    for redemption in world.redemptions.values():
        name = "delivery" if redemption.reward_kind == "delivery" else "coupon"
        url = reverse(f"rewards:{name}", args=[shop_slug, redemption.public_id])
        check(client, url, 200, problems, invalid_lookups)
    claim = world.objects["open_claim"]
    check(
        client,
        reverse("member-claim", args=[shop_slug, claim.token]),
        200,
        problems,
        invalid_lookups,
    )

    assert not problems, "\n".join(problems)


# --- the back office ----------------------------------------------------------------------------

STANDARD_VIEWS = ("changelist", "add", "change", "history", "delete")


def _platform_rows() -> None:
    """Rows of the platform's own lists (scheduled jobs, sign-in lock-outs), as they come."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django.core.management import call_command

    call_command("setup_schedules", verbosity=0)
    seen = {"ip_address": "203.0.113.9", "user_agent": "Mozilla/5.0", "username": "nok"}
    AccessAttempt.objects.create(
        **seen, http_accept="*/*", path_info="/staff/login/", failures_since_start=3
    )
    AccessFailureLog.objects.create(
        **seen, http_accept="*/*", path_info="/staff/login/", locked_out=False
    )
    AccessLog.objects.create(**seen, http_accept="*/*", path_info="/admin/login/")


def custom_admin_views(world: World) -> dict[str, tuple[list, int]]:
    """Our admin views beyond the standard five per model: URL name → (arguments, GET status)."""
    member = world.member.pk
    job = world.objects["import_job"].public_id
    return {
        "members_member_adjust_points": ([member], 200),
        "members_member_bind_line": ([member], 200),
        "members_member_unbind_line": ([member], 200),  # the member has a LINE id: confirm
        "members_member_reverse_entry": ([member, world.entries["store"].public_id], 200),
        "members_member_import_members": ([], 302),  # the list's button: on to the upload
        "members_member_export_xlsx": ([], 200),
        "members_importjob_upload": ([], 200),
        "members_importjob_upload_link": ([], 302),
        "members_importjob_template": ([], 200),
        "members_importjob_template_link": ([], 302),
        "members_importjob_preview": ([job], 200),
        "members_importjob_progress": ([job], 200),
        "members_importjob_errors": ([job], 200),
        "members_importjob_confirm": ([job], 405),
        "members_importjob_cancel": ([job], 405),
        "members_importjob_columns": ([job], 405),
        "members_ledgerentry_export_xlsx": ([], 200),
        "rewards_redemption_export_xlsx": ([], 200),
        "rewards_delivery_export_xlsx": ([], 200),
        "rewards_delivery_mark_shipped": ([world.redemptions["delivery_pending"].delivery.pk], 200),
        "rewards_reward_add_codes": ([world.rewards["pool"].pk], 200),
        "rewards_redemption_cancel_redemption": ([world.redemptions["delivery_pending"].pk], 200),
        # a POST action; a GET goes back to the menu
        "campaigns_richmenu_publish_menu": ([world.objects["rich_menus"]["draft"].pk], 302),
        # the segment builder's endpoints (POST ones refuse a GET) and the RFM grid
        "campaigns_segment_count": ([], 405),
        "campaigns_segment_member_search": ([], 200),
        "campaigns_segment_member_resolve": ([], 405),
        "campaigns_segment_products": ([], 200),
        "campaigns_segment_rfm": ([], 200),
        "campaigns_segment_rfm_link": ([], 302),  # the list's button: on to the grid
        "campaigns_broadcast_confirm": ([world.objects["broadcasts"]["draft"].pk], 200),
        "campaigns_broadcast_test_send": ([world.objects["broadcasts"]["draft"].pk], 200),
        "campaigns_broadcast_cancel": ([world.objects["broadcasts"]["scheduled"].pk], 200),
        # POST actions and the composer's upload; a GET changes nothing
        "campaigns_broadcast_copy": ([world.objects["broadcasts"]["sent"].pk], 302),
        "campaigns_broadcast_results": ([world.objects["broadcasts"]["sent"].pk], 200),
        "campaigns_broadcast_media": ([], 405),
        "auth_user_password_change": ([world.cashier.pk], 200),
        "index": ([], 200),
        "search": ([], 200),
        "password_change": ([], 200),
        "password_change_done": ([], 200),
        "jsi18n": ([], 200),
        "login": ([], 302),  # signed in already
        "logout": ([], 405),
    }


# Admin URLs not rendered here, and why.
NOT_PAGES = {
    "autocomplete": "answers JSON for a form's select box (tests/shops/test_admin_isolation.py)",
    "view_on_site": "a redirect to the member-facing page of an object; SHOW_VIEW_ON_SITE is off",
    "app_list": "every app's index, rendered below for each app label",
}


def _admin_request(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _model_of(url_name: str):
    for model in admin.site._registry:
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        if url_name.startswith(prefix) and url_name[len(prefix) :] in STANDARD_VIEWS:
            return model, url_name[len(prefix) :]
    return None, None


# Where a page sends its visitor elsewhere, by design.
ADMIN_REDIRECTS = {
    ("owner", "shops_shop_changelist"): "one shop: its settings page",
    ("owner", "shops_shoplinechannel_changelist"): "one shop: its LINE settings",
    ("owner", "campaigns_smssettings_changelist"): "one shop: its SMS settings",
    ("owner", "campaigns_rfmsettings_changelist"): "one row per shop: its RFM settings",
    ("owner", "members_importjob_change"): "an import is shown by its preview page",
    ("operator", "members_importjob_change"): "an import is shown by its preview page",
    ("operator", "members_importjob_upload"): "an operator has no shop to import into",
}


def render_admin(client, user, world, lookups) -> list[str]:
    """GET every admin page ``user`` may open (and check the refusal of those they may not)."""
    problems: list[str] = []
    role = "operator" if user.is_superuser else "owner"
    request = _admin_request(user)
    custom = custom_admin_views(world)
    for name in sorted(named_urls("admin")):
        model, view = _model_of(name)
        if model is None:
            if name in NOT_PAGES:
                continue
            if name not in custom:
                problems.append(f"admin:{name} is a new admin view: add it to custom_admin_views")
                continue
            args, expected = custom[name]
            expected = 302 if (role, name) in ADMIN_REDIRECTS else expected
            check(client, reverse(f"admin:{name}", args=args), expected, problems, lookups)
            continue
        model_admin = admin.site._registry[model]
        ok = 302 if (role, name) in ADMIN_REDIRECTS else 200
        if view == "changelist":
            allowed = model_admin.has_view_or_change_permission(request)
            url = reverse(f"admin:{name}")
            check(client, url, ok if allowed else 403, problems, lookups)
            continue
        if view == "add":
            allowed = model_admin.has_add_permission(request)
            check(client, reverse(f"admin:{name}"), ok if allowed else 403, problems, lookups)
            continue
        rows = list(model_admin.get_queryset(request).order_by("pk"))
        if view != "change":
            rows = rows[:1]  # history and delete: the first row is enough
        for obj in rows:
            allowed = {
                "change": model_admin.has_view_or_change_permission,
                "history": model_admin.has_view_or_change_permission,
                "delete": model_admin.has_delete_permission,
            }[view](request, obj)
            url = reverse(f"admin:{name}", args=[obj.pk])
            check(client, url, ok if allowed else 403, problems, lookups)
    for app_label in sorted({m._meta.app_label for m in admin.site._registry}):
        url = reverse("admin:app_list", args=[app_label])
        allowed = any(
            ma.has_module_permission(request)
            for m, ma in admin.site._registry.items()
            if m._meta.app_label == app_label
        )
        check(client, url, 200 if allowed else 404, problems, lookups)
    return problems


@pytest.mark.parametrize("role", ["owner", "operator"])
def test_every_admin_page_renders(world, invalid_lookups, role, operator):
    _platform_rows()
    user = world.owner if role == "owner" else operator
    client = Client()
    client.force_login(user)

    problems = render_admin(client, user, world, invalid_lookups)

    assert not problems, "\n".join(problems)


# --- the back office in Thai --------------------------------------------------------------------

# Names and acronyms that stay as they are in Thai text.
NOT_ENGLISH = {
    "LINE", "LIFF", "OA", "API", "QR", "URL", "ID", "IP", "SKU", "PIN", "THB", "SMS", "JSON",
    "Excel", "CSV", "UUID", "Login", "Messaging", "Shopee", "Lazada", "TikTok", "Facebook",
    "Instagram", "YouTube", "SHOPPING",
    # LINE Developers console's own names for a channel's settings, as Thai users see them there.
    "Channel", "secret", "access", "token", "Basic",
    # Technical names on the operator's platform pages (background jobs, sign-in lock-outs).
    "GET", "POST", "HTTP", "Accept", "cron", "N",
    # RFM and its three scores, as Thai CRM tools (and docs/campaigns.md) name them.
    "RFM", "R", "F", "M",
}  # fmt: skip
THAI = re.compile(r"[\u0e00-\u0e7f]")


def english_words(text: str) -> list[str]:
    """English words a Thai reader would meet in ``text``: HTML tags, file names and a
    parenthesised original term after Thai words, "ชื่อย่อ (slug)", do not count."""
    text = re.sub(r"<[^>]*>", " ", str(text))
    if THAI.search(text):
        text = re.sub(r"\([^)]*\)", " ", text)
    words = re.findall(r"(?<![A-Za-z0-9.])[A-Za-z]+(?![A-Za-z0-9.])", text)
    return [w for w in words if w not in NOT_ENGLISH]


def test_english_words_finds_the_leaks_and_lets_names_be():
    assert english_words("ช่องทางการติดต่อs") == ["s"]
    assert english_words("Display name") == ["Display", "name"]
    assert english_words("ที่อยู่ IP") == []
    assert english_words("คีย์กันทำซ้ำ (idempotency key)") == []
    assert english_words("การนำเข้า members.xlsx") == []
    assert english_words('<input aria-label="เลือก">') == []


def screen_words(response) -> list[str]:
    """What an admin page calls things: its title, columns, filters, fieldsets, field labels,
    inlines (not the data in it)."""
    from django.contrib.admin.templatetags.admin_list import result_headers

    context = response.context
    words = [str(context.get("title", ""))]
    if "cl" in context:
        cl = context["cl"]
        words += [str(h["text"]) for h in result_headers(cl)]
        words += [str(spec.title) for spec in cl.filter_specs]
    if "adminform" in context:
        for fieldset in context["adminform"]:
            words.append(str(fieldset.name or ""))
            for line in fieldset:
                for field in line:
                    if hasattr(field, "is_readonly") and field.is_readonly:
                        words.append(str(field.field["label"]))
                    else:
                        words.append(str(field.field.label))
        for inline in context.get("inline_admin_formsets", []):
            words.append(str(inline.opts.verbose_name_plural))
            words += [str(f["label"]) for f in inline.fields()]
    return [w for w in words if w]


def common_era_dates(response) -> list[str]:
    """Dates shown with this year's Common Era number (2026; the data's dates are all in 2026):
    in Thai a person reads 2569. Form inputs keep ISO dates."""
    html = response.content.decode()
    html = re.sub(r"<(input|script|style)\b.*?(</\1>|>)", " ", html, flags=re.S)
    # Text marked English on a Thai page (an English LINE message's preview) reads "31 Dec 2026".
    html = re.sub(r'<span[^>]*\blang="en"[^>]*>.*?</span>', " ", html, flags=re.S)
    html = re.sub(r"<[^>]*>", "\n", html)
    # A random id (an outbox row's retry key) may hold the digits 2026 between its dashes.
    html = re.sub(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", " ", html)
    return [
        line.strip()
        for line in html.splitlines()
        if re.search(r"\b2026\b", line)
        and "2569" not in line  # a help text comparing the two on purpose
        and "+00:00" not in line  # django-axes' names of its rows (raw UTC times), not ours
        and not re.search(r"\w:\d{4}-\d\d-\d\d:", line)  # a key (expire:<date>:…), not a date
    ]


def test_every_admin_page_is_thai(world, operator):
    _platform_rows()
    client = Client()
    client.force_login(operator)
    request = _admin_request(operator)
    leaks: dict[str, set[str]] = {}
    for model, model_admin in sorted(admin.site._registry.items(), key=lambda i: str(i[0])):
        info = model._meta.app_label, model._meta.model_name
        urls = [reverse("admin:{}_{}_changelist".format(*info))]
        if model_admin.has_add_permission(request):
            urls.append(reverse("admin:{}_{}_add".format(*info)))
        first = model_admin.get_queryset(request).order_by("pk").first()
        if first is not None:
            urls.append(reverse("admin:{}_{}_change".format(*info), args=[first.pk]))
        for url in urls:
            response = client.get(url, follow=True)
            assert response.status_code == 200, url
            for label in screen_words(response):
                if english_words(label):
                    leaks.setdefault(url, set()).add(label)
            for shown in common_era_dates(response):
                leaks.setdefault(url, set()).add(shown)

    assert not leaks, "\n".join(f"{url}: {sorted(labels)}" for url, labels in leaks.items())
