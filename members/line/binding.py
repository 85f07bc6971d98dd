"""Binding a member to a LINE user, and unbinding: the one place that does it, whatever the path.

A member is *bound* when the shop knows which LINE user it is: ``Member.line_user_id`` is set and
``Member.bound_at`` says since when (null = not bound). A Customer ID from the shop's own system
may be set too, and is shown, but does not make a member bound. The Open API, the back office,
the member import, sign-up and LINE's account-link flow all bind through ``member_bind`` (the
import through ``members_bind_bulk``); the API and the back office unbind through
``member_unbind``.

Each actual change writes one ``BindingRecord`` and, after the transaction commits, sends
``member_binding_changed`` (rich menus, auto-replies and segments follow it). Binding the LINE id a
member already has changes nothing: no record, no signal. ``LineFriend.member`` follows by the
member's post_save (``members.line.signals``).

Locks: Shop → Member (``members.ledger.locks``). The shop lock serialises binds within the shop,
so "is this LINE id taken?" and the write that takes it cannot interleave; the unique constraint
on (shop, line_user_id) backs it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import django.dispatch
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.errors import ApplicationError, InvalidInput, NotFound
from members.ledger.locks import lock_member, lock_shop
from members.line.models import BindingRecord, LineFriend
from members.models import Member
from shops.models import Shop

# Sent after commit, once per actual change: sender=Member, member_id, shop_id, bound (bool),
# line_user_id (the id bound, or the one let go), via (a BindingRecord.Via value).
member_binding_changed = django.dispatch.Signal()

# LINE's user ids: "U" and 32 lower-case hex digits.
LINE_USER_ID = re.compile(r"U[0-9a-f]{32}")


class BindingRefused(ApplicationError):
    """A binding the rules do not allow (taken, erased, already bound to another account)."""

    code = "binding_refused"


@dataclass(frozen=True)
class BindingResult:
    member: Member
    changed: bool


def clean_line_user_id(value: str | None) -> str:
    """The LINE user id as LINE writes it, or a translated ``InvalidInput``."""
    value = (value or "").strip()
    if not LINE_USER_ID.fullmatch(value):
        raise InvalidInput(
            _("A LINE user ID is U followed by 32 characters 0-9 and a-f."),
            code="invalid_line_user_id",
            field="line_user_id",
        )
    return value


def _refuse_inactive(member: Member) -> None:
    if member.status == Member.Status.ERASED:
        raise BindingRefused(_("This member's account was deleted."), code="member_erased")
    if member.status == Member.Status.MERGED:
        raise BindingRefused(
            _("This member was merged into another member; bind that member instead."),
            code="member_merged",
        )


def _taken() -> BindingRefused:
    return BindingRefused(
        _("Another member of this shop is bound to this LINE account."),
        code="identifier_taken",
        field="line_user_id",
    )


def _check_bind(member: Member, line_user_id: str, customer_id: str | None) -> None:
    """Refuse a bind of ``member`` (locked) that breaks a rule; the caller holds the shop lock."""
    _refuse_inactive(member)
    if member.line_user_id and member.line_user_id != line_user_id:
        raise BindingRefused(
            _("This member is bound to another LINE account. Unbind it first."),
            code="already_bound",
            field="line_user_id",
        )
    if customer_id and member.customer_id and member.customer_id != customer_id:
        raise BindingRefused(
            _("This member already has another Customer ID."),
            code="already_bound",
            field="customer_id",
        )
    others = Member.objects.filter(shop_id=member.shop_id).exclude(pk=member.pk)
    if member.line_user_id != line_user_id and others.filter(line_user_id=line_user_id).exists():
        raise _taken()
    if customer_id and others.filter(customer_id=customer_id).exists():
        raise BindingRefused(
            _("Another member of this shop already has this Customer ID."),
            code="identifier_taken",
            field="customer_id",
        )


def _record(member: Member, *, line_user_id: str, action: str, via: str, actor: str) -> None:
    BindingRecord.objects.create(
        shop_id=member.shop_id,
        member=member,
        line_user_id=line_user_id,
        customer_id=member.customer_id or "",
        action=action,
        via=via,
        actor=actor[:200],
    )


def _announce(member: Member, *, bound: bool, line_user_id: str, via: str) -> None:
    member_id, shop_id = member.pk, member.shop_id
    transaction.on_commit(
        lambda: member_binding_changed.send(
            sender=Member,
            member_id=member_id,
            shop_id=shop_id,
            bound=bound,
            line_user_id=line_user_id,
            via=via,
        )
    )


@transaction.atomic
def member_bind(
    *,
    member: Member,
    line_user_id: str,
    customer_id: str | None = None,
    via: str,
    actor: str,
) -> BindingResult:
    """Bind ``member`` to the LINE user ``line_user_id`` (and give it ``customer_id`` when it has
    none). Refused: a malformed LINE id; an erased or merged member; a member bound to another
    LINE account or with another Customer ID; a LINE id or Customer ID another member of the shop
    has. The same LINE id again is a no-op (a missing Customer ID is still filled in).
    ``actor`` says who: the API key's name, the admin user, "member"."""
    line_user_id = clean_line_user_id(line_user_id)
    customer_id = (customer_id or "").strip() or None
    lock_shop(member.shop_id)
    locked = lock_member(member.pk)
    _check_bind(locked, line_user_id, customer_id)
    changed = locked.line_user_id != line_user_id or locked.bound_at is None
    fields = ["updated_at"]
    if customer_id and not locked.customer_id:
        locked.customer_id = customer_id
        fields.append("customer_id")
    if changed:
        locked.line_user_id = line_user_id
        locked.bound_at = timezone.now()
        fields += ["line_user_id", "bound_at"]
    if len(fields) > 1:
        locked.save(update_fields=fields)
    if changed:
        _record(
            locked,
            line_user_id=line_user_id,
            action=BindingRecord.Action.BOUND,
            via=via,
            actor=actor,
        )
        _announce(locked, bound=True, line_user_id=line_user_id, via=via)
    return BindingResult(member=locked, changed=changed)


@transaction.atomic
def member_unbind(*, member: Member, via: str, actor: str) -> BindingResult:
    """Let go of the member's LINE user: the LINE id and ``bound_at`` are cleared (the Customer ID
    stays: it is the shop's own id for the person). A member not bound is a no-op."""
    lock_shop(member.shop_id)
    locked = lock_member(member.pk)
    if not locked.line_user_id:
        return BindingResult(member=locked, changed=False)
    line_user_id = locked.line_user_id
    locked.line_user_id = None
    locked.bound_at = None
    locked.save(update_fields=["line_user_id", "bound_at", "updated_at"])
    _record(
        locked, line_user_id=line_user_id, action=BindingRecord.Action.UNBOUND, via=via, actor=actor
    )
    _announce(locked, bound=False, line_user_id=line_user_id, via=via)
    return BindingResult(member=locked, changed=True)


def members_bind_bulk(
    *, shop_id: int, bindings: Sequence[tuple[int, str]], via: str, actor: str
) -> int:
    """Record the bindings an import wrote in bulk: ``bindings`` are (member id, LINE id) pairs
    whose members now carry that LINE id and ``bound_at``, checked by the import's planning as
    this module checks them (format, taken, already bound), under the shop's lock. One statement
    writes the records, one binds the shop's LINE friends (bulk writes send no post_save), and
    one signal per member goes after commit. Called inside the import's transaction."""
    if not bindings:
        return 0
    member_ids = [member_id for member_id, _line in bindings]
    customer_ids = dict(Member.objects.filter(pk__in=member_ids).values_list("pk", "customer_id"))
    BindingRecord.objects.bulk_create(
        [
            BindingRecord(
                shop_id=shop_id,
                member_id=member_id,
                line_user_id=line_user_id,
                customer_id=customer_ids.get(member_id) or "",
                action=BindingRecord.Action.BOUND,
                via=via,
                actor=actor[:200],
            )
            for member_id, line_user_id in bindings
        ]
    )
    LineFriend.objects.filter(
        shop_id=shop_id, line_user_id__in=[line for _id, line in bindings]
    ).update(
        member_id=Subquery(
            Member.objects.filter(
                shop_id=OuterRef("shop_id"), line_user_id=OuterRef("line_user_id")
            ).values("pk")[:1]
        ),
        updated_at=timezone.now(),
    )
    transaction.on_commit(
        lambda: [
            member_binding_changed.send(
                sender=Member,
                member_id=member_id,
                shop_id=shop_id,
                bound=True,
                line_user_id=line_user_id,
                via=via,
            )
            for member_id, line_user_id in bindings
        ]
    )
    return len(bindings)


@transaction.atomic
def member_bind_identified(
    *,
    shop: Shop,
    line_user_id: str,
    member_public_id: uuid.UUID | None = None,
    customer_id: str | None = None,
    phone: str | None = None,
    via: str,
    actor: str,
) -> tuple[BindingResult, bool]:
    """Bind ``line_user_id`` to the shop's member named by its public id, its Customer ID or its
    phone (the first given); whether the member was created too.

    An unknown member id is ``NotFound``. An unknown Customer ID or phone creates a *pending*
    member with it: the integrator's system knows the customer before they ever earn here, and
    when this LINE user signs up they take that pending member over (``member_register``).
    """
    from members.ledger.services import clean_phone, tier_start
    from members.selectors import member_by_phone

    line_user_id = clean_line_user_id(line_user_id)
    customer_id = (customer_id or "").strip() or None
    lock_shop(shop.pk)  # Shop → Member; serialises two binds that would create one member
    members = Member.objects.filter(shop=shop).exclude(status=Member.Status.ERASED)
    created = False
    if member_public_id is not None:
        member = members.filter(public_id=member_public_id).first()
        if member is None:
            raise NotFound(_("Not found in this shop."))
    elif customer_id:
        member = members.filter(customer_id=customer_id).first()
        if member is None:
            member, created = Member(shop=shop, customer_id=customer_id), True
    elif phone:
        e164 = clean_phone(phone)
        member = member_by_phone(shop=shop, phone=e164)
        if member is None:
            member, created = Member(shop=shop, phone=e164), True
    else:
        raise InvalidInput(_("Give one of member_id, customer_id or phone."), field="member_id")
    if created:
        if members.filter(line_user_id=line_user_id).exists():
            raise _taken()
        tier_start(member)
        member.save()
    return member_bind(
        member=member, line_user_id=line_user_id, customer_id=customer_id, via=via, actor=actor
    ), created
