"""Rich menus follow a LINE user's audience: a bind or unbind, a change of tier, a tag given or
taken (either side of the many-to-many: ``member.tags`` or ``tag.members``), and a follow (a new
friend, or one who unblocked the account) relink that user in a django-q2 task, after commit.
``connect`` is called from ``CampaignsConfig.ready``.

Member changes are gathered per transaction: however many tier and tag changes one transaction
makes, each user is enqueued once, when it commits, and only when the shop has a published menu
that depends on what changed (a tier menu for a tier, a tag menu for a tag). The task itself calls
LINE only when the user's menu actually changes (``services.rich_menu_link_user``).
"""

from __future__ import annotations

from collections import defaultdict
from functools import partial

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models.signals import m2m_changed, post_save
from django_q.tasks import async_task

from campaigns.richmenus import services
from campaigns.richmenus.models import RichMenu
from campaigns.richmenus.tasks import SYNC_CHANGED_TASK, SYNC_USER_TASK
from members.ledger.jobs import tiers_evaluated
from members.line import router
from members.line.binding import member_binding_changed
from members.line.models import LineFriend
from members.models import Member

Audience = RichMenu.Audience
TIER, TAG = Audience.TIER, Audience.TAG


def _enqueue(shop_id: int, line_user_id: str) -> None:
    sync = bool(settings.Q_CLUSTER.get("sync", False))
    async_task(SYNC_USER_TASK, shop_id, line_user_id, sync=sync)


def _published(shop_id: int, audiences: set[str] | None = None):
    menus = RichMenu.objects.filter(shop_id=shop_id).exclude(line_rich_menu_id="")
    return menus.filter(audience__in=audiences) if audiences is not None else menus


class _MemberChanges:
    """The members whose tier or tags one transaction changed: enqueued once each on commit."""

    def __init__(self) -> None:
        # shop id -> member id -> the audiences (tier, tag) their change matters to
        self.members: dict[int, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))

    def add(self, shop_id: int, member_id: int, audience: str) -> None:
        self.members[shop_id][member_id].add(audience)

    def __call__(self) -> None:
        for shop_id, members in self.members.items():
            audiences = set().union(*members.values())
            published = set(
                _published(shop_id, audiences).values_list("audience", flat=True).distinct()
            )
            relevant = [pk for pk, kinds in members.items() if kinds & published]
            if not relevant:
                continue
            # The binding as committed, not as the changed instance last read it: a bind that
            # committed in between has sent its own task already, which may have read the old tier.
            line_user_ids = (
                Member.objects.filter(pk__in=relevant, bound_at__isnull=False)
                .exclude(line_user_id=None)
                .values_list("line_user_id", flat=True)
            )
            for line_user_id in sorted(set(line_user_ids)):
                _enqueue(shop_id, line_user_id)


_BATCH_ATTR = "_rich_menu_member_changes"


def _record(using: str, shop_id: int, member_ids, audience: str) -> None:
    """Add members to the changes pending on this connection, and flush them on commit (at once
    outside a transaction). The first flush of a commit takes every pending member; the later
    callbacks of the same commit find nothing left. Members of a rolled-back transaction stay
    pending until the next commit: an extra check then, never a lost one."""
    connection = transaction.get_connection(using)
    batch = connection.__dict__.setdefault(_BATCH_ATTR, _MemberChanges())
    for member_id in member_ids:
        batch.add(shop_id, member_id, audience)
    transaction.on_commit(partial(_flush, using), using=using)


def _flush(using: str) -> None:
    batch = transaction.get_connection(using).__dict__.pop(_BATCH_ATTR, None)
    if batch is not None:
        batch()


def _binding_changed(sender, *, shop_id: int, line_user_id: str, **kwargs) -> None:
    # Sent after commit already.
    if _published(shop_id).exists():
        _enqueue(shop_id, line_user_id)


def _member_saved(sender, *, instance: Member, update_fields=None, using=None, **kwargs) -> None:
    # Only a tier menu depends on the tier; most saves (every earn) name other fields.
    if update_fields is not None and "tier" not in update_fields:
        return
    _record(using or DEFAULT_DB_ALIAS, instance.shop_id, [instance.pk], TIER)


def _tags_changed(
    sender, *, instance, action: str, reverse: bool, pk_set, using=None, **kwargs
) -> None:
    """``member.tags.add/remove/clear`` (``reverse`` False: ``instance`` is the member) and
    ``tag.members.add/remove/clear`` (``reverse`` True: ``instance`` is the tag)."""
    using = using or DEFAULT_DB_ALIAS
    if action == "pre_clear" and reverse:
        # post_clear names no members: read the tag's members before they are cleared.
        instance._rich_menu_cleared = list(
            Member.tags.through.objects.using(using)
            .filter(tag_id=instance.pk)
            .values_list("member_id", flat=True)
        )
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        if action == "post_clear" or pk_set:
            _record(using, instance.shop_id, [instance.pk], TAG)
        return
    cleared = action == "post_clear"
    member_ids = instance.__dict__.pop("_rich_menu_cleared", []) if cleared else pk_set or ()
    if member_ids:
        _record(using, instance.shop_id, sorted(member_ids), TAG)


def _friend_saved(sender, *, instance: LineFriend, created: bool, update_fields=None, **kwargs):
    """A follow (a new friend, or a friend again after a block) may need a menu of their own: an
    unbound-friends menu for a new friend, or the menu of an audience that changed while they had
    the account blocked. LINE keeps a user's link across a block, so the task's check against the
    recorded link is what decides whether LINE is called."""
    if instance.state != LineFriend.State.FRIEND:
        return
    if not created and update_fields is not None and "state" not in update_fields:
        return
    shop_id, line_user_id = instance.shop_id, instance.line_user_id

    def enqueue_if_menus() -> None:
        if _published(shop_id).exclude(audience=Audience.DEFAULT).exists():
            _enqueue(shop_id, line_user_id)

    transaction.on_commit(enqueue_if_menus)


def _tiers_evaluated(sender, *, shop_id: int, **kwargs) -> None:
    # The nightly evaluation writes tiers with SQL (no saves): re-link the users whose menu moved.
    if (
        RichMenu.objects.filter(shop_id=shop_id, audience=RichMenu.Audience.TIER)
        .exclude(line_rich_menu_id="")
        .exists()
    ):
        sync = bool(settings.Q_CLUSTER.get("sync", False))
        async_task(SYNC_CHANGED_TASK, shop_id, sync=sync)


def connect() -> None:
    tiers_evaluated.connect(_tiers_evaluated, dispatch_uid="richmenus-tiers-evaluated")
    member_binding_changed.connect(_binding_changed, dispatch_uid="richmenus-binding")
    post_save.connect(_member_saved, sender=Member, dispatch_uid="richmenus-member-tier")
    m2m_changed.connect(
        _tags_changed, sender=Member.tags.through, dispatch_uid="richmenus-member-tags"
    )
    post_save.connect(_friend_saved, sender=LineFriend, dispatch_uid="richmenus-friend-follow")
    router.register("postback", services.handle_switch_postback)
