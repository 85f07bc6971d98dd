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
    from members.line.services import line_friends_bind_member

    line_friends_bind_member(member=instance)


def connect() -> None:
    post_save.connect(_member_saved, sender=Member, dispatch_uid="members.line.member_saved")
