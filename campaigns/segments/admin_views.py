"""The segment builder's helpers and small JSON endpoints (admin views, one shop each).

- ``condition_errors``: every parse problem of each condition, for the row it belongs to.
- ``builder_data``: what the builder's controls offer (the shop's tags, tiers, branches, rewards,
  sign-up questions, RFM groups, months) and its translated words, for ``json_script``.
- ``count_view``: POST conditions → the count split by reach on LINE (``segment_count``, the same
  selector as the Open API) and the first members, or the errors of each condition.
- ``member_search_view`` / ``member_resolve_view`` / ``product_suggest_view``: the pickers.

The shop is always the signed-in user's (``request_shop``); a platform operator editing a shop's
segment passes its public id and works on that segment's shop.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpRequest, JsonResponse
from django.utils.dates import MONTHS
from django.utils.translation import gettext as _

from campaigns.segments.conditions import MAX_PRODUCTS, parse_conditions
from campaigns.segments.models import Segment
from campaigns.segments.rfm import RfmGroup
from campaigns.segments.selectors import segment_count, segment_preview
from loyalty.phones import normalise_phone, phone_search
from members.ledger.models import PurchaseItem
from members.models import Member
from members.signup.models import SignupQuestion
from rewards.models import Reward
from shops.models import Branch, Shop, Tag, Tier
from shops.tenancy import is_platform_operator, request_shop

PREVIEW_ROWS = 10
SEARCH_ROWS = 20
SUGGESTIONS = 15
MAX_PASTED = 2000
MAX_BODY = 200_000
# The kinds the builder offers, in its menu's order. "reward" and "signup_answer" are read by
# conditions.py once that engineer's change lands; until then their rows show the parser's refusal.
KINDS = (
    "all", "rfm", "purchased", "tags", "balance", "birth_month", "tier", "pending", "members",
    "bound", "line_friend", "joined", "last_visit", "last_visit_branch", "reward", "signup_answer",
)  # fmt: skip


# --- errors next to their condition ---------------------------------------------------------------


def _strip_number(message: str) -> str:
    """ "Condition 1: choose a tag." → "choose a tag." (each row is parsed alone, as number 1)."""
    if message == _("Condition %(n)s: unknown kind.") % {"n": 1}:
        return _("This kind of condition is not available.")
    prefix = _("Condition %(n)s: %(message)s") % {"n": 1, "message": ""}
    return message[len(prefix) :] if message.startswith(prefix) else message


def kind_known(kind: str) -> bool:
    """Whether ``parse_conditions`` reads this kind (the menu offers only those; a saved condition
    of another kind still shows, with its refusal)."""
    try:
        parse_conditions(0, [{"kind": kind}])
    except ValidationError as exc:
        return _("Condition %(n)s: unknown kind.") % {"n": 1} not in exc.messages
    return True


def condition_errors(shop_id: int, conditions: Any) -> tuple[list[str], list[list[str]]]:
    """(problems of the whole list, problems of each condition in order). Each condition is parsed
    on its own by ``parse_conditions`` so that its messages land on its own row."""
    if not isinstance(conditions, list):
        return [_("Conditions must be a list.")], []
    if not conditions:
        return [_("Add at least one condition (or “everyone”).")], []
    rows = []
    for item in conditions:
        try:
            parse_conditions(shop_id, [item])
        except ValidationError as exc:
            rows.append([_strip_number(message) for message in exc.messages])
        else:
            rows.append([])
    return [], rows


# --- what the controls offer ------------------------------------------------------------------------


def _member_label(member: Member) -> str:
    name = member.full_name or member.line_display_name or _("(no name)")
    phone = member.phone_masked
    return f"{name} · {phone}" if phone else name


def member_labels(shop_id: int, conditions: Any) -> dict[str, str]:
    """Names of the members a saved ``members`` condition picked, for its chips."""
    ids: set[int] = set()
    for item in conditions if isinstance(conditions, list) else []:
        if isinstance(item, dict) and item.get("kind") == "members":
            for value in item.get("members") or []:
                if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
                    ids.add(int(value))
    members = Member.objects.filter(shop_id=shop_id, pk__in=ids)
    return {str(member.pk): _member_label(member) for member in members}


def _options(queryset, label: str = "name") -> list[dict[str, Any]]:
    return [{"id": row["pk"], "label": row[label]} for row in queryset.values("pk", label)]


def _questions(shop_id: int) -> list[dict[str, Any]]:
    questions = SignupQuestion.objects.filter(shop_id=shop_id).prefetch_related("choices")
    return [
        {
            "id": question.pk,
            "label": question.label,
            "choices": [{"id": c.pk, "label": c.label} for c in question.choices.all()]
            if question.has_choices
            else [],
        }
        for question in questions
    ]


def words() -> dict[str, str]:
    """Every word the builder's script shows, translated here (the script has none of its own)."""
    return {
        "all": _("Everyone"),
        "rfm": _("RFM group"),
        "purchased": _("Bought products"),
        "tags": _("Tags"),
        "balance": _("Points balance"),
        "birth_month": _("Birth month"),
        "tier": _("Tier"),
        "pending": _("Not signed up yet (known by phone)"),
        "members": _("Chosen members"),
        "bound": _("Bound to LINE"),
        "line_friend": _("Friend of the LINE OA"),
        "joined": _("Joined"),
        "last_visit": _("Last visit"),
        "last_visit_branch": _("Branch of the last visit"),
        "reward": _("Can redeem a reward now"),
        "signup_answer": _("Answer to a sign-up question"),
        "add": _("Add a condition"),
        "remove": _("Remove"),
        "mode": _("Match"),
        "mode_any": _("any of them"),
        "mode_all": _("all of them"),
        "mode_none": _("none of them"),
        "bought_any": _("bought any of them"),
        "bought_all": _("bought all of them"),
        "bought_none": _("bought none of them"),
        "since": _("from"),
        "until": _("to"),
        "min": _("at least"),
        "max": _("at most"),
        "yes": _("yes"),
        "no": _("no"),
        "product": _("SKU or product name"),
        "products_help": _("Up to %(n)s products, matched exactly on recorded purchases.")
        % {"n": MAX_PRODUCTS},
        "search_member": _("Search by phone or name"),
        "paste": _("Or paste phone numbers or Customer IDs, one per line"),
        "paste_add": _("Add these"),
        "not_found": _("Not found"),
        "question": _("Question"),
        "answered": _("Answered"),
        "not_answered": _("Did not answer"),
        "chose": _("Chose one of"),
        "nothing": _("Nothing to choose yet: the shop has none."),
        "and": _("and also"),
        "counting": _("Counting…"),
        "total": _("Members in the segment"),
        "line": _("Reachable on LINE now"),
        "not_reachable": _("Not reachable on LINE"),
        "not_bound": _("no LINE account known"),
        "blocked": _("blocked the OA"),
        "not_friend": _("bound, but not a friend of the OA"),
        "preview": _("First members"),
        "name": _("name"),
        "phone": _("phone"),
        "tier_col": _("tier"),
        "points": _("points"),
        "fix": _("Fix the conditions marked in red to see the count."),
        "empty": _("No member meets these conditions."),
        "failed": _("The count could not be loaded. Try again."),
    }


def builder_data(shop: Shop, conditions: Any, errors: list[list[str]]) -> dict[str, Any]:
    """Everything the builder's script needs, for ``json_script``."""
    return {
        "conditions": conditions if isinstance(conditions, list) else [],
        "errors": errors,
        "kinds": [kind for kind in KINDS if kind_known(kind)],
        "rfm": [{"id": value, "label": str(label)} for value, label in RfmGroup.choices],
        "tags": _options(Tag.objects.filter(shop=shop).order_by("name")),
        "tiers": _options(Tier.objects.filter(shop=shop).order_by("threshold", "pk")),
        "branches": _options(Branch.objects.filter(shop=shop).order_by("name")),
        "rewards": _options(Reward.objects.filter(shop=shop).order_by("order", "name")),
        "questions": _questions(shop.pk),
        "months": [{"id": n, "label": str(name)} for n, name in MONTHS.items()],
        "member_labels": member_labels(shop.pk, conditions),
        "max_products": MAX_PRODUCTS,
        "words": words(),
    }


# --- endpoints ----------------------------------------------------------------------------------------


def builder_shop(request: HttpRequest, segment_id: str | None = None, *, optional=False):
    """The shop whose members the builder counts: the user's; for a platform operator, the shop of
    the segment being edited (without one: None when ``optional``, else 403)."""
    shop = request_shop(request)
    if shop is not None:
        return shop
    if is_platform_operator(request):
        segment = Segment.objects.select_related("shop").filter(public_id=segment_id).first()
        if segment is not None:
            return segment.shop
        if optional:
            return None
    raise PermissionDenied


def _body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_BODY:
        return {}
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def count_view(request: HttpRequest) -> JsonResponse:
    """POST ``{"conditions": [...]}`` → the count and the first members, or each row's errors."""
    body = _body(request)
    shop = builder_shop(request, _uuid(body.get("segment")))
    conditions = body.get("conditions")
    problems, rows = condition_errors(shop.pk, conditions)
    if problems or any(rows):
        return JsonResponse({"ok": False, "problems": problems, "errors": rows})
    parsed = parse_conditions(shop.pk, conditions)
    count = segment_count(shop.pk, parsed)
    preview = [
        {
            "name": member.full_name or member.line_display_name or _("(no name)"),
            "phone": member.phone_masked,
            "tier": member.tier.name if member.tier_id else "",
            "balance": member.balance,
            "pending": member.status == Member.Status.PENDING,
        }
        for member in segment_preview(shop.pk, parsed)[:PREVIEW_ROWS]
    ]
    return JsonResponse(
        {
            "ok": True,
            "total": count.total,
            "line_reachable": count.line,
            "not_reachable": {
                "total": count.total - count.line,
                "not_bound": count.not_bound,
                "blocked": count.blocked,
                "not_friend": count.not_friend,
            },
            "preview": preview,
            "errors": rows,
        }
    )


def _uuid(value: Any) -> str | None:
    text = str(value or "")
    return text if re.fullmatch(r"[0-9a-fA-F-]{32,36}", text) else None


def _targetable(shop: Shop):
    return Member.objects.filter(
        shop=shop, status__in=(Member.Status.REGISTERED, Member.Status.PENDING)
    )


def member_search_view(request: HttpRequest) -> JsonResponse:
    """GET ``?q=`` → up to 20 of the shop's members by phone (whole, beginning or end) or name."""
    shop = builder_shop(request, _uuid(request.GET.get("segment")), optional=True)
    term = (request.GET.get("q") or "").strip()[:100]
    if shop is None or len(term) < 2:
        return JsonResponse({"members": []})
    wanted = phone_search(term)
    if wanted is not None:
        q = Q(phone=wanted.exact) if wanted.exact else Q(pk__in=[])
        for prefix in wanted.prefixes:
            q |= Q(phone__startswith=prefix)
        if wanted.suffix:
            q |= Q(phone__endswith=wanted.suffix)
    else:
        q = Q()
        for word in term.split()[:3]:
            q &= (
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(line_display_name__icontains=word)
            )
    found = _targetable(shop).filter(q).order_by("first_name", "last_name", "pk")[:SEARCH_ROWS]
    return JsonResponse({"members": [{"id": m.pk, "label": _member_label(m)} for m in found]})


def member_resolve_view(request: HttpRequest) -> JsonResponse:
    """POST ``{"text": "..."}``: phone numbers or Customer IDs, one per line (or separated by
    commas) → the shop's members they name, and the lines that named none."""
    body = _body(request)
    shop = builder_shop(request, _uuid(body.get("segment")))
    lines = [t.strip() for t in re.split(r"[\n,;\t]+", str(body.get("text") or "")) if t.strip()]
    lines = lines[:MAX_PASTED]
    phones: dict[str, str] = {}
    for line in lines:
        try:
            phones[line] = normalise_phone(line)
        except (ValidationError, ValueError):
            continue
    members = _targetable(shop).filter(Q(phone__in=set(phones.values())) | Q(customer_id__in=lines))
    by_phone = {m.phone: m for m in members if m.phone}
    by_customer = {m.customer_id: m for m in members if m.customer_id}
    found: dict[int, str] = {}
    unknown = []
    for line in lines:
        member = by_customer.get(line) or by_phone.get(phones.get(line, ""))
        if member is None:
            unknown.append(line)
        else:
            found[member.pk] = _member_label(member)
    return JsonResponse(
        {
            "members": [{"id": pk, "label": label} for pk, label in found.items()],
            "unknown": unknown[:50],
        }
    )


def product_suggest_view(request: HttpRequest) -> JsonResponse:
    """GET ``?q=`` → SKUs and names of items recorded on the shop's purchases that contain it."""
    shop = builder_shop(request, _uuid(request.GET.get("segment")), optional=True)
    if shop is None:
        return JsonResponse({"products": []})
    term = (request.GET.get("q") or "").strip()[:100]
    items = PurchaseItem.objects.filter(shop=shop)
    if term:
        items = items.filter(Q(sku__icontains=term) | Q(name__icontains=term))
    seen: list[str] = []
    for sku, name in items.order_by("-pk").values_list("sku", "name")[:200]:
        for value in (sku, name):
            if value and value not in seen:
                seen.append(value)
    return JsonResponse({"products": seen[:SUGGESTIONS]})
