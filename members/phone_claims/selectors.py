"""Reads for the phone proof: the member's page, the card's panel, the cashier's view."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from loyalty.sms import sms_available
from members.models import Member
from members.phone_claims.models import PhoneClaim, PhoneCode


def with_latest_claim(members: QuerySet[Member]) -> QuerySet[Member]:
    """Annotate ``claim_phone``, ``claim_status`` and ``claim_id`` of each member's latest phone
    claim (None without one), in the member's own query: the card and the cashier's screen show
    it without a query of their own."""
    latest = PhoneClaim.objects.filter(member=OuterRef("pk")).order_by("-created_at", "-id")
    return members.annotate(
        claim_phone=Subquery(latest.values("phone")[:1]),
        claim_status=Subquery(latest.values("status")[:1]),
        claim_id=Subquery(latest.values("public_id")[:1]),
    )


@dataclass(frozen=True)
class ProofPage:
    claim: PhoneClaim | None
    code: PhoneCode | None  # the latest code of the claim
    sms: bool  # whether codes by SMS are available here
    resend_in: int  # seconds before another code may be asked for (0: now)
    fake_inbox: str  # the demo's fake SMS gateway page (DEBUG only), else ""

    @property
    def code_live(self) -> bool:
        code = self.code
        return bool(
            code
            and code.used_at is None
            and code.expires_at > timezone.now()
            and code.attempts < settings.OTP_MAX_TRIES
            and not code.send_error
        )


def proof_page(member: Member, *, now: dt.datetime | None = None) -> ProofPage:
    """What the member's "confirm your phone" page shows: their latest open or lost claim and
    its latest code."""
    now = now or timezone.now()
    claim = (
        PhoneClaim.objects.filter(
            member=member, status__in=[PhoneClaim.Status.OPEN, PhoneClaim.Status.LOST]
        )
        .order_by("-created_at", "-id")
        .first()
    )
    code = None
    resend_in = 0
    if claim is not None and claim.status == PhoneClaim.Status.OPEN:
        code = PhoneCode.objects.filter(claim=claim).order_by("-created_at", "-id").first()
        if code is not None:
            ready = code.created_at + dt.timedelta(seconds=settings.OTP_RESEND_SECONDS)
            resend_in = max(0, int((ready - now).total_seconds()) + 1) if ready > now else 0
    fake = ""
    if (
        settings.DEBUG
        and settings.FAKE_SMS_PORT
        and settings.SMS_BASE_URL.startswith(f"http://127.0.0.1:{settings.FAKE_SMS_PORT}")
    ):
        fake = settings.SMS_BASE_URL.rstrip("/") + "/"
    return ProofPage(claim, code, sms_available(), resend_in, fake)
