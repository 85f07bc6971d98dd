"""The broadcast pages of the back office: compose (errors on their fields), the confirm step
(counts, LINE's quota, a count that changed), scheduling, cancel, copy and the test send, all
through the services and against the fake LINE platform."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from campaigns.broadcasts.models import Broadcast
from campaigns.broadcasts.services import broadcast_confirm, broadcast_save
from campaigns.segments.models import Segment
from loyalty.outbox.tasks import outbox_drain
from tests.campaigns.broadcasts.conftest import everyone, friend
from tests.conftest import admin_messages
from tests.factories import MemberFactory
from tests.line_fixtures import NOK, PLOY, SOMCHAI, unreachable_line

__all__ = ["unreachable_line"]

pytestmark = pytest.mark.django_db(transaction=True)
State = Broadcast.State
TEXT = [{"type": "text", "text": "สวัสดี {shop}"}]


def url(step: str, *args) -> str:
    return reverse(f"admin:campaigns_broadcast_{step}", args=args)


def form_data(segment, **changes) -> dict:
    data = {
        "name": "Promo",
        "segments": [segment.pk],
        "messages": json.dumps(TEXT),
        "sms_text": "",
        "coupon_reward": "",
        "consent_only": "on",
        "holdout_percent": "0",
        "attribution_days": "7",
        "send_mode": "now",
        "send_date": "",
        "send_time": "",
    }
    data.update(changes)
    return data


def draft(shop, **kwargs) -> Broadcast:
    return broadcast_save(
        shop=shop,
        name=kwargs.pop("name", "Promo"),
        segment_ids=[
            Segment.objects.get_or_create(shop=shop, name="All", conditions=[{"kind": "all"}])[0].pk
        ],
        messages=kwargs.pop("messages", TEXT),
        **kwargs,
    )


# --- compose ----------------------------------------------------------------------------------


def test_the_composer_saves_a_draft_and_goes_on_to_the_confirm_step(owner_client, line_shop):
    segment = everyone(line_shop)
    messages = [*TEXT, {"type": "card", "template": "balance"}]

    response = owner_client.post(
        url("add"), form_data(segment, messages=json.dumps(messages), _confirm="1")
    )

    broadcast = Broadcast.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("confirm", broadcast.pk)
    assert (broadcast.shop, broadcast.state, broadcast.messages) == (
        line_shop,
        State.DRAFT,
        messages,
    )
    assert list(broadcast.segments.all()) == [segment]


def test_the_composer_page_offers_the_shops_own_choices_and_the_composer(
    owner_client, line_shop, other_shop
):
    everyone(line_shop, name="ลูกค้าประจำ")
    everyone(other_shop, name="SHOP-B-SECRET segment")

    response = owner_client.get(url("add"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "ลูกค้าประจำ" in page
    assert "SHOP-B-SECRET" not in page
    assert 'id="bc-composer-data"' in page
    assert "js/broadcast-composer.js" in page


def test_each_refusal_of_the_service_shows_on_its_field(owner_client, line_shop, english):
    segment = everyone(line_shop)
    bad = [{"type": "text", "text": "Hi {nickname}"}]

    response = owner_client.post(
        url("add"),
        form_data(segment, name=" ", messages=json.dumps(bad), segments=[], holdout_percent="10"),
    )

    errors = response.context["form"].errors
    assert response.status_code == 200
    assert Broadcast.objects.count() == 0
    assert errors["name"] == ["This field is required."]  # the form's own check of shape
    response = owner_client.post(
        url("add"), form_data(segment, messages=json.dumps(bad), segments=[])
    )
    errors = response.context["form"].errors
    assert errors["segments"] == ["Choose at least one segment."]
    assert errors["messages"][0].startswith("Message 1: unknown placeholder {nickname}.")
    assert 'data-testid="error-messages"' in response.content.decode()


def test_the_errors_are_in_thai_for_a_thai_screen(owner_client, line_shop):
    response = owner_client.post(url("add"), form_data(everyone(line_shop), segments=[]))

    with translation.override("th"):
        expected = translation.gettext("Choose at least one segment.")
    assert expected != "Choose at least one segment."
    assert response.context["form"].errors["segments"] == [expected]


def test_a_send_time_is_read_in_the_shops_time_and_must_be_ahead(owner_client, line_shop):
    segment = everyone(line_shop)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)

    response = owner_client.post(
        url("add"),
        form_data(segment, send_mode="later", send_date=tomorrow.isoformat(), send_time="09:30"),
    )

    broadcast = Broadcast.objects.get()
    assert response.status_code == 302
    local = timezone.localtime(broadcast.send_at)
    assert (local.date(), local.hour, local.minute, str(local.tzinfo)) == (
        tomorrow,
        9,
        30,
        "Asia/Bangkok",
    )
    past = owner_client.post(
        url("change", broadcast.pk),
        form_data(segment, send_mode="later", send_date="2020-01-01", send_time="09:00"),
    )
    assert "send_date" in past.context["form"].errors
    missing = owner_client.post(url("change", broadcast.pk), form_data(segment, send_mode="later"))
    assert "send_date" in missing.context["form"].errors


def test_a_picture_uploaded_from_the_composer_is_the_shops(owner_client, line_shop):
    from io import BytesIO

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (1040, 520), "red").save(buffer, "PNG")
    upload = SimpleUploadedFile("promo.png", buffer.getvalue(), content_type="image/png")

    response = owner_client.post(url("media"), {"kind": "image", "file": upload})

    from campaigns.broadcasts.models import BroadcastMedia

    media = BroadcastMedia.objects.get()
    assert response.status_code == 201
    assert response.json()["key"] == str(media.key)
    assert (media.shop, media.kind, media.width, media.height) == (line_shop, "image", 1040, 520)
    video = owner_client.post(
        url("media"),
        {"kind": "video", "file": SimpleUploadedFile("v.mp4", b"x", content_type="video/mp4")},
    )
    assert video.status_code == 400  # a video needs its preview picture
    assert BroadcastMedia.objects.count() == 1


# --- confirm ----------------------------------------------------------------------------------


def test_the_confirm_step_shows_the_counts_and_line_quota(owner_client, line_shop, fake_line):
    friend(line_shop, NOK)
    friend(line_shop, PLOY, consent=False)
    MemberFactory(shop=line_shop)
    fake_line.set_quota(500, used=499)
    broadcast = draft(line_shop, messages=[*TEXT, {"type": "card", "template": "balance"}])

    response = owner_client.get(url("confirm", broadcast.pk))

    context = response.context
    assert response.status_code == 200
    assert (context["estimate"].line, context["estimate"].sms, context["estimate"].total) == (
        1,
        0,
        3,
    )
    assert context["recipients"] == 1
    quota = context["quota"]
    assert (quota.limit, quota.used, quota.uses, quota.over) == (500, 499, 2, True)
    assert 'data-testid="quota-over"' in response.content.decode()
    assert [n for _, n in context["not_sent"]] == [2]  # no consent (the unbound one too)


def test_confirming_the_count_seen_sends_it_to_line(owner_client, line_shop, fake_line, q_sync):
    friend(line_shop, NOK)
    broadcast = draft(line_shop)

    response = owner_client.post(url("confirm", broadcast.pk), {"recipients": "1"})
    outbox_drain(seconds=5)

    broadcast.refresh_from_db()
    assert response.status_code == 302
    assert broadcast.state == State.SENT
    assert broadcast.confirmed_recipients == 1
    assert fake_line.texts_to(NOK) == ["สวัสดี Shop A"]


def test_a_count_that_changed_is_shown_again_instead_of_sending(owner_client, line_shop, fake_line):
    friend(line_shop, NOK)
    broadcast = draft(line_shop)
    friend(line_shop, SOMCHAI)  # joined after the owner looked

    response = owner_client.post(url("confirm", broadcast.pk), {"recipients": "1"})

    broadcast.refresh_from_db()
    assert response.status_code == 200
    assert broadcast.state == State.DRAFT
    assert response.context["recipients"] == 2
    assert response.context["changed"]
    assert 'data-testid="count-changed"' in response.content.decode()
    assert fake_line.messages == []


def test_the_quota_is_said_unknown_when_line_does_not_answer(
    owner_client, line_shop, unreachable_line
):
    friend(line_shop, NOK)
    broadcast = draft(line_shop)

    response = owner_client.get(url("confirm", broadcast.pk))

    assert response.status_code == 200
    assert response.context["quota"].error
    assert response.context["quota"].limit is None


# --- schedule, cancel, copy -------------------------------------------------------------------


def test_a_scheduled_broadcast_can_be_cancelled_after_a_confirmation(owner_client, line_shop):
    friend(line_shop, NOK)
    broadcast = draft(line_shop, send_at=timezone.now() + dt.timedelta(days=1))
    broadcast_confirm(broadcast=broadcast, recipients=1)

    page = owner_client.get(url("change", broadcast.pk))
    asked = owner_client.get(url("cancel", broadcast.pk))
    done = owner_client.post(url("cancel", broadcast.pk))

    broadcast.refresh_from_db()
    assert 'data-testid="broadcast-summary"' in page.content.decode()
    assert asked.status_code == 200 and asked.context["may_cancel"]
    assert done.status_code == 302
    assert broadcast.state == State.CANCELLED
    again = owner_client.post(url("cancel", broadcast.pk), follow=True)
    assert again.status_code == 200  # refused with a message, still cancelled
    assert admin_messages(again)


def test_copy_makes_a_new_draft_of_a_sent_broadcast(owner_client, line_shop):
    broadcast = draft(line_shop, name="Songkran")
    Broadcast.objects.filter(pk=broadcast.pk).update(state=State.SENT)

    response = owner_client.post(url("copy", broadcast.pk))

    copy = Broadcast.objects.exclude(pk=broadcast.pk).get()
    assert response["Location"] == url("change", copy.pk)
    assert (copy.state, copy.messages, copy.copied_from_id) == (State.DRAFT, TEXT, broadcast.pk)
    assert owner_client.get(url("copy", broadcast.pk)).status_code == 302  # GET changes nothing
    assert Broadcast.objects.count() == 2


def test_the_list_filters_by_state_and_shows_the_send_time(owner_client, line_shop):
    draft(line_shop, name="The draft")
    later = draft(line_shop, name="The scheduled", send_at=timezone.now() + dt.timedelta(days=2))
    Broadcast.objects.filter(pk=later.pk).update(state=State.SCHEDULED)

    response = owner_client.get(url("changelist"), {"state__exact": "scheduled"})

    rows = list(response.context["cl"].result_list)
    assert [b.name for b in rows] == ["The scheduled"]
    assert "state__exact=sent" in response.content.decode()


def test_a_sent_broadcast_links_its_results_only_when_the_page_exists(line_shop):
    from campaigns.broadcasts.admin import results_url

    broadcast = draft(line_shop)
    assert results_url(broadcast) is None  # a draft has no results
    Broadcast.objects.filter(pk=broadcast.pk).update(state=State.SENT)
    broadcast.refresh_from_db()
    try:
        expected = reverse("admin:campaigns_broadcast_results", args=[broadcast.pk])
    except Exception:
        expected = None
    assert results_url(broadcast) == expected


# --- test send --------------------------------------------------------------------------------


def test_a_test_goes_to_the_friends_chosen(owner_client, line_shop, fake_line, q_sync):
    friend(line_shop, NOK, first_name="นก")
    friend(line_shop, PLOY)
    broadcast = draft(line_shop, messages=[{"type": "text", "text": "สวัสดี{name}"}])

    page = owner_client.get(url("test_send", broadcast.pk))
    response = owner_client.post(url("test_send", broadcast.pk), {"line_user_ids": [NOK]})
    outbox_drain(seconds=5)

    assert NOK in page.content.decode() or "นก" in page.content.decode()
    assert response.status_code == 302
    assert fake_line.texts_to(NOK) == ["สวัสดีนก"]
    assert fake_line.texts_to(PLOY) == []
    assert Broadcast.objects.get().state == State.DRAFT


def test_a_test_goes_to_at_most_five_and_only_to_the_shops_friends(
    owner_client, line_shop, other_shop, fake_line
):
    for n in range(6):
        friend(line_shop, f"U{n:032d}")
    friend(other_shop, "U" + "f" * 32)
    broadcast = draft(line_shop)

    six = owner_client.post(
        url("test_send", broadcast.pk), {"line_user_ids": [f"U{n:032d}" for n in range(6)]}
    )
    stranger = owner_client.post(
        url("test_send", broadcast.pk), {"line_user_ids": ["U" + "f" * 32]}
    )

    assert six.status_code == 200 and "line_user_ids" in six.context["form"].errors
    assert stranger.status_code == 200 and "line_user_ids" in stranger.context["form"].errors
    assert ("U" + "f" * 32) not in owner_client.get(url("test_send", broadcast.pk)).content.decode()
    assert fake_line.messages == []


# --- isolation --------------------------------------------------------------------------------


def test_another_shops_broadcast_is_not_found_on_any_page(owner_client, line_shop, other_shop):
    theirs = draft(other_shop, name="SHOP-B-SECRET promo")

    for step in ("change", "confirm", "test_send", "cancel", "copy", "history", "delete"):
        assert owner_client.get(url(step, theirs.pk)).status_code in (302, 404), step
    for step in ("confirm", "cancel", "copy", "test_send"):
        assert owner_client.post(url(step, theirs.pk), {"recipients": "0"}).status_code == 404
    listing = owner_client.get(url("changelist")).content.decode()
    theirs.refresh_from_db()
    assert theirs.state == State.DRAFT
    assert Broadcast.objects.count() == 1
    assert "SHOP-B-SECRET" not in listing


def test_another_shops_segment_media_and_reward_are_refused(owner_client, line_shop, other_shop):
    from campaigns.broadcasts.models import BroadcastMedia
    from rewards.models import Reward
    from tests.factories import FACTORIES

    theirs = everyone(other_shop, name="Theirs")
    media = BroadcastMedia.objects.create(shop=other_shop, kind="image", file="x.png")
    reward = FACTORIES[Reward](shop=other_shop)
    parts = [{"type": "image", "media": str(media.key)}]

    response = owner_client.post(
        url("add"),
        form_data(everyone(line_shop), messages=json.dumps(parts), coupon_reward=str(reward.pk))
        | {"segments": [theirs.pk]},
    )

    errors = response.context["form"].errors
    assert {"segments", "coupon_reward"} <= set(errors)  # not even offered
    response = owner_client.post(
        url("add"), form_data(everyone(line_shop, name="Ours"), messages=json.dumps(parts))
    )
    assert response.context["form"].errors["messages"]  # the service: not the shop's picture
    assert Broadcast.objects.count() == 0
    page = owner_client.get(url("add")).content.decode()
    assert str(media.key) not in page and reward.name not in page


def test_a_platform_operator_has_no_shop_to_write_for(client, operator):
    client.force_login(operator)

    assert client.get(url("add")).status_code == 403
    assert client.get(url("changelist")).status_code == 200
