"""Rich menus follow a member's audience: a bind or unbind, and a change of tier, relink that LINE
user (after commit, in a django-q2 task). ``connect`` is called from ``CampaignsConfig.ready``."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django_q.tasks import async_task

from campaigns.richmenus.models import RichMenu
from campaigns.richmenus.tasks import SYNC_USER_TASK
from members.line.binding import member_binding_changed
from members.models import Member


def _enqueue(shop_id: int, line_user_id: str) -> None:
    sync = bool(settings.Q_CLUSTER.get("sync", False))
    async_task(SYNC_USER_TASK, shop_id, line_user_id, sync=sync)


def _binding_changed(sender, *, shop_id: int, line_user_id: str, **kwargs) -> None:
    # Sent after commit already.
    if RichMenu.objects.filter(shop_id=shop_id).exclude(line_rich_menu_id="").exists():
        _enqueue(shop_id, line_user_id)


def _member_saved(sender, *, instance: Member, update_fields=None, **kwargs) -> None:
    if update_fields is not None and "tier" not in update_fields:
        return
    shop_id, member_id = instance.shop_id, instance.pk

    def enqueue_if_tier_menus() -> None:
        # Only a tier menu depends on the tier; most saves (every earn) come here.
        if not (
            RichMenu.objects.filter(shop_id=shop_id, audience=RichMenu.Audience.TIER)
            .exclude(line_rich_menu_id="")
            .exists()
        ):
            return
        # The binding as committed, not as the saved instance last read it: a bind that committed
        # in between has sent its own task already, which may have read the old tier.
        line_user_id = (
            Member.objects.filter(pk=member_id, bound_at__isnull=False)
            .values_list("line_user_id", flat=True)
            .first()
        )
        if line_user_id:
            _enqueue(shop_id, line_user_id)

    transaction.on_commit(enqueue_if_tier_menus)


def connect() -> None:
    member_binding_changed.connect(_binding_changed, dispatch_uid="richmenus-binding")
    post_save.connect(_member_saved, sender=Member, dispatch_uid="richmenus-member-tier")
