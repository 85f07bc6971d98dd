"""Staff invites (create, check, accept, revoke) and the audit log's one writer.

An invite link carries a random token; only its SHA-256 is stored (tokens are 24 random bytes, so a
fast hash is enough, as for API keys). Accepting locks the invite row, so two phones opening the
same link at once make one account.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.errors import ApplicationError, InvalidInput
from shops.models import Branch, Shop, User
from shops.services import staff_account_save
from shops.staffing.models import StaffAction, StaffInvite

INVITE_MIN_VALIDITY = dt.timedelta(hours=1)
INVITE_MAX_VALIDITY = dt.timedelta(days=30)
INVITE_DEFAULT_VALIDITY = dt.timedelta(days=3)


class InviteInvalid(ApplicationError):
    """The invite link cannot be used (unknown, expired, used, revoked, branch closed)."""

    code = "invite_invalid"
    http_status = 410


@dataclass(frozen=True)
class Device:
    """Where a request came from, for the audit log."""

    ip_address: str | None = None
    user_agent: str = ""

    @classmethod
    def of(cls, request: HttpRequest | None) -> Device:
        if request is None:
            return cls()
        from axes.helpers import get_client_ip_address

        # The same address django-axes uses for its lock-outs (honours its proxy settings).
        ip = get_client_ip_address(request) or None
        return cls(ip_address=ip, user_agent=request.META.get("HTTP_USER_AGENT", "")[:300])


# --- audit ----------------------------------------------------------------------------------------


def staff_action_record(
    *,
    user: User,
    kind: str,
    branch: Branch | None = None,
    obj: models.Model | None = None,
    label: str = "",
    detail: dict[str, Any] | None = None,
    device: Device | None = None,
    shop: Shop | None = None,
) -> StaffAction:
    """Append one row to the shop's staff audit log: who, where (branch), what, on which object,
    from which device and IP. The only writer of ``StaffAction``; rows are never changed."""
    shop_id = shop.pk if shop is not None else user.shop_id
    if shop_id is None:
        raise ValueError("staff actions belong to a shop")
    if branch is not None and branch.shop_id != shop_id:
        raise ValueError("the branch belongs to another shop")
    device = device or Device()
    object_type = object_id = ""
    if obj is not None:
        object_type = obj._meta.model_name
        object_id = str(getattr(obj, "public_id", None) or obj.pk)
        label = label or str(obj)
    return StaffAction.objects.create(
        shop_id=shop_id,
        user=user,
        username=user.get_username(),
        branch=branch,
        kind=kind,
        object_type=object_type,
        object_id=object_id,
        object_repr=label[:200],
        detail=detail or {},
        ip_address=device.ip_address,
        user_agent=device.user_agent[:300],
    )


# --- invites --------------------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def staff_invite_create(
    *,
    shop: Shop,
    branch: Branch,
    created_by: User | None,
    name: str = "",
    valid_for: dt.timedelta = INVITE_DEFAULT_VALIDITY,
    device: Device | None = None,
) -> tuple[StaffInvite, str]:
    """Create a single-use invite for a cashier at ``branch``; returns the row and the raw token
    (shown once as a link and QR code, never stored). The branch must be an active branch of the
    shop; the invite is valid between 1 hour and 30 days."""
    if branch.shop_id != shop.pk or not branch.is_active:
        raise InvalidInput(_("Choose an active branch of your shop."), field="branch")
    if not INVITE_MIN_VALIDITY <= valid_for <= INVITE_MAX_VALIDITY:
        raise InvalidInput(
            _("An invite is valid for at least 1 hour and at most 30 days."), field="valid_for"
        )
    token = secrets.token_urlsafe(24)
    invite = StaffInvite.objects.create(
        shop=shop,
        branch=branch,
        name=(name or "").strip()[:100],
        token_hash=_hash(token),
        expires_at=timezone.now() + valid_for,
        created_by=created_by,
    )
    if created_by is not None and created_by.shop_id == shop.pk:
        staff_action_record(
            user=created_by,
            kind=StaffAction.Kind.INVITE_CREATE,
            branch=branch,
            obj=invite,
            device=device,
        )
    return invite, token


def _check_open(invite: StaffInvite | None) -> StaffInvite:
    if invite is None:
        raise InviteInvalid(
            _("This invite link is not valid. Check that you opened the whole link."),
            code="invite_unknown",
        )
    state = invite.state
    if state == StaffInvite.State.USED:
        raise InviteInvalid(
            _("This invite has already been used. Ask your manager for a new one."),
            code="invite_used",
        )
    if state == StaffInvite.State.REVOKED:
        raise InviteInvalid(
            _("This invite has been cancelled. Ask your manager for a new one."),
            code="invite_revoked",
        )
    if state == StaffInvite.State.EXPIRED:
        raise InviteInvalid(
            _("This invite has expired. Ask your manager for a new one."), code="invite_expired"
        )
    if not invite.branch.is_active or not invite.shop.is_active:
        raise InviteInvalid(
            _("The branch of this invite is closed. Ask your manager for a new invite."),
            code="invite_branch_closed",
        )
    return invite


def staff_invite_get(*, token: str) -> StaffInvite:
    """The open invite for ``token`` or ``InviteInvalid`` saying why it cannot be used."""
    invite = (
        StaffInvite.objects.select_related("shop", "branch")
        .filter(token_hash=_hash(token or ""))
        .first()
    )
    return _check_open(invite)


def username_taken(username: str) -> bool:
    return User.objects.filter(username__iexact=username).exists()


@transaction.atomic
def staff_invite_accept(
    *,
    token: str,
    name: str,
    username: str,
    password: str,
    device: Device | None = None,
) -> User:
    """Create the cashier account an invite offers: a cashier of the invite's shop bound to its
    branch, with no back-office access. The invite is locked and used once; an expired, used or
    revoked invite, a taken username (in any letter case) or a weak password changes nothing."""
    invite = _check_open(
        StaffInvite.objects.select_for_update(of=("self",))
        .select_related("shop", "branch")
        .filter(token_hash=_hash(token or ""))
        .first()
    )
    name = (name or "").strip()
    username = (username or "").strip()
    if not name:
        raise InvalidInput(_("Enter your name."), field="name")
    if username_taken(username):
        raise InvalidInput(
            _("This username is taken. Choose another one."),
            code="username_taken",
            field="username",
        )
    user = User(
        shop=invite.shop,
        role=User.Role.CASHIER,
        username=username,
        first_name=name[:150],
        is_staff=False,
    )
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), field="password") from None
    user.set_password(password)
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise InvalidInput(messages[0], field=field) from None
    staff_account_save(user=user)
    user.branches.set([invite.branch])
    invite.used_at = timezone.now()
    invite.used_by = user
    invite.save(update_fields=["used_at", "used_by"])
    staff_action_record(
        user=user, kind=StaffAction.Kind.JOIN, branch=invite.branch, obj=invite, device=device
    )
    return user


@transaction.atomic
def staff_invite_revoke(
    *, invite: StaffInvite, actor: User | None = None, device: Device | None = None
) -> StaffInvite:
    """Cancel an invite that has not been used yet; a used invite stays as it is."""
    invite = StaffInvite.objects.select_for_update().get(pk=invite.pk)
    if invite.used_at is None and invite.revoked_at is None:
        invite.revoked_at = timezone.now()
        invite.save(update_fields=["revoked_at"])
        if actor is not None and actor.shop_id == invite.shop_id:
            staff_action_record(
                user=actor,
                kind=StaffAction.Kind.INVITE_REVOKE,
                branch=invite.branch,
                obj=invite,
                device=device,
            )
    return invite
