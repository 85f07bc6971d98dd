"""The RFM grid (admin view): how many of the shop's members are in each of the 11 RFM groups and
what they spent, from the nightly scores (``MemberRfm``), when they were computed, a button that
recomputes them now (a django-q task), and from each group a new segment of that group."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_q.tasks import async_task

from campaigns.segments.conditions import TARGETABLE
from campaigns.segments.models import MemberRfm
from campaigns.segments.rfm import GRID, RfmGroup
from shops.tenancy import request_shop

REFRESH_TASK = "campaigns.segments.services.rfm_refresh"

# What each group means and what shops usually do with it: one line each, for the owner.
ABOUT = {
    RfmGroup.CHAMPIONS: gettext_lazy("Bought recently, often and the most. Reward them."),
    RfmGroup.LOYAL: gettext_lazy("Buy often and spend well. Offer more of what they like."),
    RfmGroup.POTENTIAL_LOYALIST: gettext_lazy(
        "Recent customers with a few visits. Invite them to the next tier."
    ),
    RfmGroup.NEW: gettext_lazy("Bought for the first time lately. Welcome them back."),
    RfmGroup.PROMISING: gettext_lazy("Recent, but small baskets. A small push may help."),
    RfmGroup.NEED_ATTENTION: gettext_lazy("Middling on all three. A timely offer keeps them."),
    RfmGroup.ABOUT_TO_SLEEP: gettext_lazy("Have not come for a while and spent little."),
    RfmGroup.AT_RISK: gettext_lazy("Used to buy well, not lately. Win them back."),
    RfmGroup.CANT_LOSE: gettext_lazy("Your biggest spenders of old, gone quiet. Reach them now."),
    RfmGroup.HIBERNATING: gettext_lazy("Long gone and spent little."),
    RfmGroup.LOST: gettext_lazy("The longest gone. A last try, or let them be."),
}


@dataclass(frozen=True)
class RfmGroupRow:
    group: RfmGroup
    members: int
    spend: Decimal
    share: int  # per cent of the scored members, rounded
    codes: str  # the (R, FM) cells of the group, e.g. "R5·FM4–5"

    @property
    def label(self) -> str:
        return str(self.group.label)

    @property
    def about(self) -> str:
        return str(ABOUT[self.group])


def _cells(group: RfmGroup) -> str:
    cells = [f"R{r}·FM{fm}" for r, row in GRID.items() for fm, g in row.items() if g == group]
    return ", ".join(cells)


def rfm_grid(shop_id: int) -> tuple[list[RfmGroupRow], dt.datetime | None]:
    """Each RFM group with its members (those a segment can hold: registered or pending) and their
    spend in the scoring window, in the groups' order; and when the scores were computed."""
    scores = MemberRfm.objects.filter(shop_id=shop_id, member__status__in=TARGETABLE)
    totals = {
        row["group"]: row
        for row in scores.values("group").annotate(members=Count("pk"), spend=Sum("monetary"))
    }
    computed = MemberRfm.objects.filter(shop_id=shop_id).aggregate(at=Max("computed_at"))["at"]
    everyone = sum(row["members"] for row in totals.values()) or 1
    rows = [
        RfmGroupRow(
            group=group,
            members=totals.get(group.value, {}).get("members", 0),
            spend=totals.get(group.value, {}).get("spend") or Decimal("0.00"),
            share=round(100 * totals.get(group.value, {}).get("members", 0) / everyone),
            codes=_cells(group),
        )
        for group in RfmGroup
    ]
    return rows, computed


class RfmGridView:
    """GET: the grid. POST: queue ``rfm_refresh`` for the shop (``sync`` as the cluster says, so
    tests and the embedded default run it at once), then back to the grid."""

    def __init__(self, model_admin) -> None:
        self.model_admin = model_admin

    def dispatch(self, request: HttpRequest) -> HttpResponse:
        shop = request_shop(request)
        if request.method == "POST":
            if shop is None or not self.model_admin.has_change_permission(request):
                raise PermissionDenied
            async_task(
                REFRESH_TASK,
                shop_id=shop.pk,
                sync=bool(settings.Q_CLUSTER.get("sync")),
                task_name=f"rfm_refresh-{shop.pk}",
            )
            messages.success(
                request,
                _("The RFM scores are being computed. Reload this page in a minute to see them."),
            )
            return HttpResponseRedirect(reverse("admin:campaigns_segment_rfm"))
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET", "POST"])
        rows, computed = rfm_grid(shop.pk) if shop is not None else ([], None)
        add_url = reverse("admin:campaigns_segment_add")
        return TemplateResponse(
            request,
            "admin/campaigns/segment/rfm.html",
            {
                **self.model_admin.admin_site.each_context(request),
                "opts": self.model_admin.model._meta,
                "title": _("RFM groups"),
                "shop": shop,
                "rows": [(row, f"{add_url}?{urlencode({'rfm': row.group.value})}") for row in rows],
                "scored": sum(row.members for row in rows),
                "computed": computed,
                "may_refresh": shop is not None and self.model_admin.has_change_permission(request),
                "may_add": self.model_admin.has_add_permission(request),
            },
        )
