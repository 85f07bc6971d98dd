"""The RFM settings page: one row per shop, reached from the changelist; saving goes through
``rfm_settings_save`` and can refresh the scores at once (a django-q2 job); bad cut points are
refused on the form in Thai; another shop's row cannot be opened."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.segments.models import MemberRfm, RfmSettings
from members.ledger.models import Channel, Purchase
from tests.factories import MemberFactory, RfmSettingsFactory

ADD = "admin:campaigns_rfmsettings_add"
CHANGE = "admin:campaigns_rfmsettings_change"
LIST = "admin:campaigns_rfmsettings_changelist"


@pytest.fixture
def sync_jobs(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}


def fixed(**changes) -> dict:
    data = {"window_months": "12", "mode": "fixed", "refresh_now": "on"}
    cuts = {
        "r_days": [30, 90, 180, 365],
        "f_count": [2, 3, 5, 10],
        "m_thb": [500, 1000, 3000, 10000],
    }
    for name, values in cuts.items():
        data.update({f"{name}_{i}": str(v) for i, v in enumerate(values, start=1)})
    data.update(changes)
    return data


def buy(member, *, days_ago: int, amount: str):
    Purchase.objects.create(
        shop_id=member.shop_id,
        member=member,
        channel=Channel.STORE,
        amount=Decimal(amount),
        points=0,
        created_at=timezone.now() - dt.timedelta(days=days_ago),
    )


@pytest.mark.django_db
def test_the_owner_sets_fixed_thresholds_and_the_scores_are_refreshed_at_once(
    owner_client, shop, sync_jobs, django_capture_on_commit_callbacks
):
    # given a member who bought three times, 1,000 THB each, in the last 40 days
    member = MemberFactory(shop=shop)
    for days_ago in (10, 20, 40):
        buy(member, days_ago=days_ago, amount="1000")
    assert owner_client.get(reverse(LIST)).url == reverse(ADD)
    assert owner_client.get(reverse(ADD)).status_code == 200
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse(ADD), fixed())
    # then
    assert response.status_code == 302, response.content.decode()[:2000]
    row = RfmSettings.objects.get(shop=shop)
    assert (row.mode, row.r_days, row.m_thb[0]) == ("fixed", (30, 90, 180, 365), Decimal("500"))
    scored = MemberRfm.objects.get(member=member)
    assert (scored.r, scored.f, scored.m) == (5, 3, 4)  # within 30 days; 3 purchases; 3,000 THB
    # one row per shop: the list opens it, and there is nothing more to add
    assert owner_client.get(reverse(LIST)).url == reverse(CHANGE, args=[row.pk])
    assert owner_client.get(reverse(ADD)).status_code == 403
    assert owner_client.get(reverse(CHANGE, args=[row.pk])).status_code == 200


@pytest.mark.django_db
def test_without_refresh_now_the_scores_wait_for_the_night(
    owner_client, shop, sync_jobs, django_capture_on_commit_callbacks
):
    buy(MemberFactory(shop=shop), days_ago=3, amount="100")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse(ADD), fixed(refresh_now=""))
    assert response.status_code == 302
    assert RfmSettings.objects.filter(shop=shop).exists()
    assert not MemberRfm.objects.filter(shop=shop).exists()


@pytest.mark.django_db
def test_cut_points_that_do_not_go_up_are_refused_on_the_form_in_thai(owner_client, shop):
    response = owner_client.post(
        reverse(ADD), fixed(r_days_3="60", f_count_4="", window_months="40")
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert {"r_days_1", "f_count_1", "window_months"} <= set(errors)
    html = response.content.decode()
    assert "จุดตัดของ R เป็นจำนวนวันเต็มตั้งแต่ 1 ขึ้นไป แต่ละค่ามากกว่าค่าก่อนหน้า" in html
    assert not RfmSettings.objects.exists()


@pytest.mark.django_db
def test_another_shops_settings_cannot_be_opened(owner_client, other_shop):
    theirs = RfmSettingsFactory(shop=other_shop, window_months=7)
    assert owner_client.get(reverse(CHANGE, args=[theirs.pk])).status_code in (302, 404)
    assert owner_client.get(reverse(LIST)).url == reverse(ADD)
