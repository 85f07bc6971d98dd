"""The staff app's page shell: every staff page (this app's and the rewards app's counter pages)
renders through ``render_staff``, which adds the signed-in staff member and the bottom navigation.
This is the staff app's one public module for other apps."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy

# (key, label, URL name). "Use coupon" and "Deliveries" are filled by the rewards issue; until its
# URLs exist they show as "coming soon".
NAV = [
    # Translators: Thai: เพิ่มพอยท์
    ("home", gettext_lazy("Add points"), "staff:home"),
    # Translators: Thai: QR รับพอยท์
    ("claim", gettext_lazy("Points QR"), "staff:claim_new"),
    # Translators: Thai: วันนี้
    ("today", gettext_lazy("Today"), "staff:today"),
    # Translators: Thai: ใช้คูปอง
    ("coupon", gettext_lazy("Use coupon"), "staff:coupon"),
    # Translators: Thai: จัดส่ง
    ("delivery", gettext_lazy("Deliveries"), "staff:delivery"),
]


def staff_nav(active: str) -> list[dict]:
    items = []
    for key, label, name in NAV:
        try:
            url = reverse(name)
        except NoReverseMatch:
            url = None
        items.append({"key": key, "label": label, "url": url, "active": key == active})
    return items


def render_staff(
    request: HttpRequest, template: str, context: dict | None = None, *, nav="", status=200
) -> HttpResponse:
    context = {"staff": getattr(request, "staff", None), "nav": staff_nav(nav), **(context or {})}
    return render(request, template, context, status=status)
