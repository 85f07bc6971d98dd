"""Keeps ``LineFriend.member`` in step with ``Member.line_user_id``, whichever path changes it."""

from __future__ import annotations

from django.db.models.signals import post_save

from members.models import Member


def _member_saved(sender, instance: Member, created: bool, update_fields=None, **kwargs) -> None:
    # A save that names its fields and leaves the LINE id alone (the ledger's balance updates)
    # cannot change a binding: skip the two queries.
    if update_fields is not None and "line_user_id" not in update_fields:
        return
    if created and not instance.line_user_id:
        return
    from members.line.services import line_friends_bind_member, line_friends_erase

    if instance.status == Member.Status.ERASED:
        line_friends_erase(instance)
        return
    line_friends_bind_member(member=instance)


def connect() -> None:
    """Wire the friends' binding signal, the account-link event handler, and the friends' and
    binding records' places in the personal-data registry (PDPA)."""
    from members.line import router
    from members.line.accountlink import account_link_receive
    from members.line.models import AccountLinkNonce, BindingRecord, LineFriend
    from members.line.services import binding_records_erase, line_friends_erase
    from members.personal_data import leave_out_of_export, register_eraser

    post_save.connect(_member_saved, sender=Member, dispatch_uid="members.line.member_saved")
    router.register("accountLink", account_link_receive)
    register_eraser(LineFriend, line_friends_erase)
    leave_out_of_export(
        LineFriend,
        reason="when the member's LINE account followed or blocked the shop's LINE OA: the shop's "
        "friend counts; the LINE user id itself is in the member's profile section",
    )
    register_eraser(BindingRecord, binding_records_erase)
    leave_out_of_export(
        BindingRecord,
        reason="the shop's audit of who bound or unbound the member's LINE account; the LINE user "
        "id and Customer ID themselves are in the member's profile section",
    )
    register_eraser(
        AccountLinkNonce, lambda member: AccountLinkNonce.objects.filter(member=member).delete()
    )
    leave_out_of_export(
        AccountLinkNonce, reason="a random one-time value that lives ten minutes; nothing personal"
    )
