"""A click is the member's: it moves on a phone-claim merge (once per link), shows in "download my
data", and stays (holding only the member id) when the account is erased; and two taps at once
are one click that tags once (threads; run on PostgreSQL too)."""

from __future__ import annotations

import threading

import pytest
from django.db import transaction
from django.db.models.signals import m2m_changed

from campaigns.links.models import LinkClick
from campaigns.links.services import link_click_record
from members.models import Member
from members.pages.export import member_data
from members.phone_claims.merge import member_merge_pending
from members.signup.services import member_erase
from tests.concurrency import run_concurrently
from tests.factories import LinkClickFactory, MemberFactory, TagFactory, TrackedLinkFactory


@pytest.mark.django_db
def test_a_merge_moves_the_pending_members_clicks_keeping_one_per_link(shop):
    pending = MemberFactory(shop=shop, status=Member.Status.PENDING)
    target = MemberFactory(shop=shop, phone=None)
    both = TrackedLinkFactory(shop=shop, key="0")
    only_pending = TrackedLinkFactory(shop=shop, key="1")
    LinkClickFactory(link=both, member=pending)
    mine = LinkClickFactory(link=both, member=target)
    LinkClickFactory(link=only_pending, member=pending)

    with transaction.atomic():
        member_merge_pending(pending=pending, target=target, phone=pending.phone)

    assert set(LinkClick.objects.values_list("link__key", "member_id")) == {
        ("0", target.pk),
        ("1", target.pk),
    }
    assert LinkClick.objects.get(link=both).pk == mine.pk  # the proving member's own stands


@pytest.mark.django_db
def test_the_export_lists_the_links_tapped_and_erasure_keeps_the_counts(shop):
    member = MemberFactory(shop=shop)
    LinkClickFactory(
        link=TrackedLinkFactory(shop=shop, target="https://example.com/a"), member=member
    )

    assert [row["link"] for row in member_data(member)["links"]] == ["https://example.com/a"]
    member_erase(member=member)

    assert LinkClick.objects.filter(member=member).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_taps_at_once_are_one_click_and_tag_once(shop):
    # given a link with a tag, and a receiver that hears every tag given
    link = TrackedLinkFactory(shop=shop)
    tag = TagFactory(shop=shop)
    link.tags.add(tag)
    member = MemberFactory(shop=shop)
    given, lock = [], threading.Lock()

    def heard(sender, instance, action, pk_set, **kwargs):
        if action == "post_add" and isinstance(instance, Member):
            with lock:
                given.append(frozenset(pk_set))

    m2m_changed.connect(heard, sender=Member.tags.through, weak=False, dispatch_uid="links-test")
    try:
        # when the member taps four times at the same moment
        results = run_concurrently(
            lambda i: link_click_record(
                link=type(link).objects.get(pk=link.pk), member=Member.objects.get(pk=member.pk)
            ),
            4,
        )
    finally:
        m2m_changed.disconnect(sender=Member.tags.through, dispatch_uid="links-test")

    # then one tap was the first, one click is stored, and the tag was given once
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sorted(results) == [False, False, False, True]
    assert LinkClick.objects.filter(link=link, member=member).count() == 1
    assert given == [frozenset({tag.pk})]
    assert list(member.tags.all()) == [tag]
