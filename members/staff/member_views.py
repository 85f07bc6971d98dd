"""Points QR codes, the member's side: ``/m/<shop slug>/claim/<token>``, opened from LINE's camera.

GET shows what the code gives and never changes anything (link previews and prefetchers open
links too); the member taps "Collect" (POST) and the points go to the signed-in member. Who the
member is comes only from the member pages' LINE sign-in (``members.member_auth.member_required``:
not signed in → LINE sign-in and back here; not a member yet → sign-up), never from the page.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from loyalty.errors import ApplicationError
from members.member_auth import member_required
from members.staff import services
from members.staff.errors import ClaimCancelled, ClaimExpired, ClaimNotFound, ClaimUsed
from members.staff.models import PointsClaim

SESSION_JUST_COLLECTED = "points-claim-collected"


def _page(request: HttpRequest, context: dict, *, status: int = 200) -> HttpResponse:
    context = {"shop": request.shop, "member": request.member, **context}
    return render(request, "members/staff/member_claim.html", context, status=status)


def _refusal(claim: PointsClaim, member_id: int) -> ApplicationError | None:
    """Why this claim cannot be collected by this member now, or None (the same rules as
    ``points_claim_redeem``, which decides again under the claim's lock)."""
    state = claim.state
    if state == PointsClaim.State.CLAIMED and claim.claimed_by_id != member_id:
        return ClaimUsed(
            _("These points have already been collected. Each points QR code works only once.")
        )
    if state == PointsClaim.State.CANCELLED:
        return ClaimCancelled(_("The cashier cancelled this points QR code."))
    if state == PointsClaim.State.EXPIRED:
        return ClaimExpired(
            _("This points QR code has expired. Ask the cashier to make a new one.")
        )
    return None


@never_cache
@require_http_methods(["GET", "POST"])
@member_required
def member_claim(request: HttpRequest, shop_slug: str, token: str) -> HttpResponse:
    shop, member = request.shop, request.member
    try:
        claim = services.claim_peek(shop=shop, token=token)
    except ClaimNotFound as exc:
        return _page(request, {"error": exc}, status=404)
    if request.method == "POST":
        try:
            result = services.points_claim_redeem(shop=shop, token=token, member=member)
        except ApplicationError as exc:
            return _page(request, {"error": exc, "claim": claim}, status=exc.http_status)
        if not result.already:
            request.session[SESSION_JUST_COLLECTED] = str(claim.public_id)
        return redirect(request.path)  # post/redirect/get: a reload never posts again
    refusal = _refusal(claim, member.pk)
    if refusal is not None:
        return _page(request, {"error": refusal, "claim": claim}, status=refusal.http_status)
    if claim.state == PointsClaim.State.CLAIMED:
        just_now = request.session.pop(SESSION_JUST_COLLECTED, None) == str(claim.public_id)
        return _page(request, {"claim": claim, "collected": True, "just_now": just_now})
    try:
        preview = services.points_preview(shop=shop, amount=claim.amount, member=member)
    except ApplicationError:
        preview = None
    return _page(request, {"claim": claim, "preview": preview})
