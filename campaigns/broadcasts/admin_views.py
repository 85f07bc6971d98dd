"""The pages of ``BroadcastAdmin`` beyond Django's list: each parses, calls one service or
selector and renders or redirects. ``model_admin`` is the ``BroadcastAdmin``; the broadcast given
is already the user's shop's (``BroadcastAdmin.broadcast_or_404``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from campaigns.broadcasts import services
from campaigns.broadcasts.admin_context import composer_data, summary_parts
from campaigns.broadcasts.forms import BroadcastForm, ConfirmForm, MediaUploadForm, TestSendForm
from campaigns.broadcasts.media import broadcast_media_upload
from campaigns.broadcasts.models import Broadcast, BroadcastRecipient
from campaigns.broadcasts.reach import broadcast_estimate
from campaigns.broadcasts.selectors import Estimate
from loyalty.errors import ApplicationError, Conflict, InvalidInput
from loyalty.line import LineError
from loyalty.line.messaging import message_quota
from shops.services import line_access_token
from shops.tenancy import request_shop

State = Broadcast.State
TEMPLATES = "admin/campaigns/broadcast/"
NEXT_STEPS = {"_confirm": "confirm", "_test": "test_send"}


def _context(model_admin, request, **extra) -> dict:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "app_label": model_admin.model._meta.app_label,
        **extra,
    }


def _render(model_admin, request, name: str, **extra) -> TemplateResponse:
    return TemplateResponse(request, TEMPLATES + name, _context(model_admin, request, **extra))


# --- the composer ---------------------------------------------------------------------------------


def composer_view(model_admin, request, broadcast: Broadcast | None):
    """Write a new draft or change one: the form, the messages composer and its preview. Saving
    goes on to the page the button names (the test send or the confirm step) or back here."""
    shop = broadcast.shop if broadcast else request_shop(request)
    form = BroadcastForm(request.POST or None, shop=shop, broadcast=broadcast)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.broadcast_save(shop=shop, broadcast=broadcast, **form.service_kwargs())
        except InvalidInput as exc:
            form.add_service_errors(exc.extra.get("errors") or {exc.field or "__all__": [str(exc)]})
        except ApplicationError as exc:
            form.add_error(None, str(exc))
        else:
            step = next((s for key, s in NEXT_STEPS.items() if key in request.POST), None)
            if step is None:
                messages.success(request, _("The draft is saved."))
            return model_admin.redirect_to(saved, step or "change")
    adminform = helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {})
    title = _("Change the broadcast") if broadcast else _("Write a broadcast")
    return _render(
        model_admin,
        request,
        "compose.html",
        title=title,
        form=form,
        adminform=adminform,
        broadcast=broadcast,
        original=broadcast,
        composer=composer_data(shop, request),
        media_url=_reverse("media"),
    )


def summary_view(model_admin, request, broadcast: Broadcast):
    """A broadcast past its draft: what it says, to whom, when; copy, cancel, results."""
    from campaigns.broadcasts.admin import results_url

    return _render(
        model_admin,
        request,
        "summary.html",
        title=broadcast.name,
        broadcast=broadcast,
        original=broadcast,
        parts=summary_parts(broadcast),
        segments=broadcast.segments.order_by("name"),
        results_url=results_url(broadcast),
        may_cancel=broadcast.state == State.SCHEDULED,
    )


def media_upload_view(model_admin, request):
    """The composer's upload: a picture, or a video with its preview; answers its key (JSON)."""
    if request.method != "POST":
        return JsonResponse({"error": _("Send the file with POST.")}, status=405)
    shop = request_shop(request)
    if shop is None or not model_admin.has_add_permission(request):
        raise PermissionDenied
    form = MediaUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        problems = [str(e) for errors in form.errors.values() for e in errors]
        return JsonResponse({"error": " ".join(problems)}, status=400)
    media = broadcast_media_upload(
        shop=shop,
        kind=form.cleaned_data["kind"],
        file=form.cleaned_data["file"],
        preview=form.cleaned_data.get("preview"),
    )
    from campaigns.broadcasts.admin_context import media_item

    return JsonResponse(media_item(media), status=201)


# --- test send ------------------------------------------------------------------------------------


def test_send_view(model_admin, request, broadcast: Broadcast):
    form = TestSendForm(request.POST or None, shop=broadcast.shop)
    if request.method == "POST" and form.is_valid():
        try:
            sent = services.broadcast_test_send(
                broadcast=broadcast, line_user_ids=form.cleaned_data["line_user_ids"]
            )
        except ApplicationError as exc:
            form.add_error("line_user_ids" if exc.field == "line_user_ids" else None, str(exc))
        else:
            messages.success(
                request,
                _("The test is on its way to %(n)s LINE account(s). Check how it looks on a phone.")
                % {"n": sent},
            )
            return model_admin.redirect_to(broadcast, "test_send")
    return _render(
        model_admin,
        request,
        "test_send.html",
        title=_("Test send: %(name)s") % {"name": broadcast.name},
        broadcast=broadcast,
        original=broadcast,
        form=form,
        editable=broadcast.state == State.DRAFT,
    )


# --- confirm --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quota:
    """LINE's monthly quota as the confirm step shows it (``error``: why it is not known)."""

    limit: int | None = None
    used: int | None = None
    uses: int = 0
    error: str = ""

    @property
    def after(self) -> int | None:
        return None if self.used is None else self.used + self.uses

    @property
    def over(self) -> bool:
        return self.limit is not None and self.used is not None and self.after > self.limit


def line_quota(broadcast: Broadcast, estimate: Estimate) -> Quota:
    token = line_access_token(broadcast.shop_id)
    if not token:
        return Quota(uses=estimate.line_messages, error=_("The shop's LINE channel is not set up."))
    try:
        quota = message_quota(channel_access_token=token)
    except LineError:
        return Quota(
            uses=estimate.line_messages,
            error=_("LINE did not answer; the quota could not be checked. Try again in a minute."),
        )
    return Quota(limit=quota.limit, used=quota.used, uses=estimate.line_messages)


def confirm_view(model_admin, request, broadcast: Broadcast):
    """The counts (LINE, SMS, held out, not sent by reason) and LINE's quota; confirming posts the
    count shown, and a count that changed since is shown again instead of sending."""
    if broadcast.state != State.DRAFT:
        return model_admin.redirect_to(broadcast)
    changed = ""
    if request.method == "POST":
        form = ConfirmForm(request.POST)
        if form.is_valid():
            try:
                services.broadcast_confirm(
                    broadcast=broadcast,
                    recipients=form.cleaned_data["recipients"],
                    user=request.user,
                )
            except Conflict as exc:
                if exc.code != "count_changed":
                    messages.error(request, str(exc))
                    return model_admin.redirect_to(broadcast)
                changed = str(exc)
            except ApplicationError as exc:
                messages.error(request, str(exc))
            else:
                broadcast.refresh_from_db()
                if broadcast.send_at:
                    text = _("Confirmed: it will be sent at the time you chose.")
                else:
                    text = _("Confirmed: it is being sent now.")
                messages.success(request, text)
                return HttpResponseRedirect(model_admin.changelist_url())
    estimate = broadcast_estimate(broadcast)
    reasons = dict(BroadcastRecipient.Reason.choices)
    return _render(
        model_admin,
        request,
        "confirm.html",
        title=_("Check and confirm: %(name)s") % {"name": broadcast.name},
        broadcast=broadcast,
        original=broadcast,
        estimate=estimate,
        recipients=estimate.line + estimate.sms,
        not_sent=[(reasons.get(k, k), n) for k, n in estimate.not_sent.items()],
        quota=line_quota(broadcast, estimate),
        changed=changed,
        form=ConfirmForm(initial={"recipients": estimate.line + estimate.sms}),
        parts=summary_parts(broadcast),
    )


# --- copy and cancel ------------------------------------------------------------------------------


def copy_view(model_admin, request, broadcast: Broadcast):
    if request.method != "POST":
        return model_admin.redirect_to(broadcast)
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    copy = services.broadcast_copy(broadcast=broadcast)
    messages.success(request, _("Copied. This is the new draft: change it and confirm it."))
    return model_admin.redirect_to(copy)


def cancel_view(model_admin, request, broadcast: Broadcast):
    if request.method == "POST":
        try:
            services.broadcast_cancel(broadcast=broadcast)
        except ApplicationError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The broadcast is cancelled; nobody gets it."))
        return model_admin.redirect_to(broadcast)
    return _render(
        model_admin,
        request,
        "cancel.html",
        title=_("Cancel the broadcast %(name)s?") % {"name": broadcast.name},
        broadcast=broadcast,
        original=broadcast,
        may_cancel=broadcast.state in (State.SCHEDULED, State.DRAFT),
    )


def _reverse(step: str, *args) -> str:
    from django.urls import reverse

    return reverse(f"admin:campaigns_broadcast_{step}", args=args)
