"""The Messaging API through the real line-bot-sdk client, against the fake LINE platform."""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from linebot.v3.messaging import (
    ApiException,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuArea,
    RichMenuBounds,
    RichMenuRequest,
    RichMenuSize,
    TextMessage,
    URIAction,
)

from loyalty.line import LineUnavailable
from loyalty.line import messaging as line_messaging
from tests.line_fixtures import MESSAGING_ACCESS_TOKEN, MESSAGING_CHANNEL_ID, NOK, PLOY, SOMCHAI


@pytest.fixture
def api(fake_line):
    return line_messaging.messaging_api(channel_access_token=MESSAGING_ACCESS_TOKEN)


def test_push_through_the_sdk_lands_in_the_fake_log(fake_line, api):
    response = api.push_message(
        PushMessageRequest(to=SOMCHAI, messages=[TextMessage(text="ได้รับ 40 แต้ม")])
    )

    [entry] = fake_line.messages
    assert entry["kind"] == "push"
    assert entry["channel_id"] == MESSAGING_CHANNEL_ID
    assert entry["to"] == [SOMCHAI]
    assert entry["messages"] == [{"type": "text", "text": "ได้รับ 40 แต้ม"}]
    assert [m.id for m in response.sent_messages] == entry["sent_message_ids"]
    assert fake_line.texts_to(SOMCHAI) == ["ได้รับ 40 แต้ม"]
    assert fake_line.texts_to(NOK) == []


def test_reply_through_the_sdk_uses_a_single_use_reply_token(fake_line, api):
    token = fake_line.issue_reply_token(channel_id=MESSAGING_CHANNEL_ID, user_id=NOK)
    request = ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="ยอดแต้ม 120")])

    api.reply_message(request)
    with pytest.raises(ApiException) as replay:
        api.reply_message(request)

    assert replay.value.status == 400
    assert json.loads(replay.value.body) == {"message": "Invalid reply token"}
    assert fake_line.texts_to(NOK) == ["ยอดแต้ม 120"]
    assert fake_line.messages[0]["reply_token"] == token


def test_multicast_through_the_sdk_reaches_every_recipient(fake_line, api):
    api.multicast(MulticastRequest(to=[SOMCHAI, NOK], messages=[TextMessage(text="โปรโมชันใหม่")]))

    [entry] = fake_line.messages
    assert entry["kind"] == "multicast"
    assert fake_line.texts_to(SOMCHAI) == fake_line.texts_to(NOK) == ["โปรโมชันใหม่"]
    assert fake_line.texts_to(PLOY) == []


def test_replayed_retry_key_is_rejected_with_409(fake_line, api):
    key = str(uuid.uuid4())
    request = PushMessageRequest(to=SOMCHAI, messages=[TextMessage(text="once")])
    first = api.push_message(request, x_line_retry_key=key)

    with pytest.raises(ApiException) as replay:
        api.push_message(request, x_line_retry_key=key)

    assert replay.value.status == 409
    body = json.loads(replay.value.body)
    assert body["message"] == "The retry key is already accepted"
    assert [m["id"] for m in body["sentMessages"]] == [m.id for m in first.sent_messages]
    assert replay.value.headers["x-line-accepted-request-id"] == fake_line.messages[0]["request_id"]
    assert fake_line.texts_to(SOMCHAI) == ["once"]


def test_push_text_reads_a_retry_key_replay_as_already_sent(fake_line):
    key = str(uuid.uuid4())
    send = {
        "channel_access_token": MESSAGING_ACCESS_TOKEN,
        "to": PLOY,
        "text": "คูปองของคุณพร้อมใช้",
        "retry_key": key,
    }

    first = line_messaging.push_text(**send)
    again = line_messaging.push_text(**send)

    assert not first.already_accepted
    assert again.already_accepted
    assert again.message_ids == first.message_ids
    assert again.accepted_request_id == fake_line.messages[0]["request_id"]
    assert fake_line.texts_to(PLOY) == ["คูปองของคุณพร้อมใช้"]


def test_multicast_text_reads_a_retry_key_replay_as_already_sent(fake_line):
    key = str(uuid.uuid4())
    send = {
        "channel_access_token": MESSAGING_ACCESS_TOKEN,
        "to": [SOMCHAI, PLOY],
        "text": "hi",
        "retry_key": key,
    }

    assert line_messaging.multicast_text(**send) is True
    assert line_messaging.multicast_text(**send) is False
    assert len(fake_line.messages) == 1


def test_bad_channel_access_token_is_a_401_api_exception(fake_line):
    api = line_messaging.messaging_api(channel_access_token="revoked-token")

    with pytest.raises(ApiException) as error:
        api.push_message(PushMessageRequest(to=SOMCHAI, messages=[TextMessage(text="x")]))

    assert error.value.status == 401
    assert json.loads(error.value.body)["message"].startswith("Authentication failed.")
    assert fake_line.messages == []


def test_malformed_messages_get_lines_400_error_shape(fake_line, api):
    with pytest.raises(ApiException) as empty_text:
        api.push_message(PushMessageRequest(to=SOMCHAI, messages=[TextMessage(text="")]))
    raw = requests.post(
        f"{fake_line.base_url}/v2/bot/message/push",
        headers={"Authorization": f"Bearer {MESSAGING_ACCESS_TOKEN}"},
        json={"to": SOMCHAI, "messages": [{"type": "txt", "text": "typo"}]},
        timeout=5,
    )

    assert empty_text.value.status == 400
    assert json.loads(empty_text.value.body) == {
        "message": "The request body has 1 error(s)",
        "details": [{"message": "May not be empty", "property": "messages[0].text"}],
    }
    assert raw.status_code == 400
    assert raw.json()["details"][0]["property"] == "messages[0].type"
    assert fake_line.messages == []


def test_push_to_a_user_line_does_not_know_is_refused(fake_line, api):
    with pytest.raises(ApiException) as error:
        api.push_message(
            PushMessageRequest(to="U" + "0" * 32, messages=[TextMessage(text="hello")])
        )

    assert error.value.status == 400
    assert fake_line.messages == []


def test_get_user_profile_for_a_friend_and_for_a_stranger(fake_line):
    profile = line_messaging.get_user_profile(
        channel_access_token=MESSAGING_ACCESS_TOKEN, user_id=SOMCHAI
    )
    stranger = line_messaging.get_user_profile(
        channel_access_token=MESSAGING_ACCESS_TOKEN, user_id="U" + "f" * 32
    )

    assert profile is not None
    assert profile.user_id == SOMCHAI
    assert profile.display_name == "สมชาย ใจดี"
    assert profile.language == "th"
    assert stranger is None


def test_issue_link_token_reaches_line(fake_line):
    token = line_messaging.issue_link_token(
        channel_access_token=MESSAGING_ACCESS_TOKEN, user_id=NOK
    )

    assert len(token) >= 20
    [request] = fake_line.requests
    assert request["method"] == "POST"
    assert request["path"] == f"/v2/bot/user/{NOK}/linkToken"
    assert request["status"] == 200


def test_rich_menu_needs_its_image_before_a_user_can_be_linked(fake_line, api):
    # given a rich menu created through the SDK, without its image yet
    menu = api.create_rich_menu(
        RichMenuRequest(
            size=RichMenuSize(width=2500, height=843),
            selected=True,
            name="members",
            chat_bar_text="เมนู",
            areas=[
                RichMenuArea(
                    bounds=RichMenuBounds(x=0, y=0, width=2500, height=843),
                    action=URIAction(uri="https://example.com/card"),
                )
            ],
        )
    )
    link = {"channel_access_token": MESSAGING_ACCESS_TOKEN, "user_id": SOMCHAI}
    with pytest.raises(ApiException) as no_image:
        line_messaging.link_rich_menu(**link, rich_menu_id=menu.rich_menu_id)

    # when the image is uploaded to the data host, the link goes through
    blob = line_messaging.messaging_api_blob(channel_access_token=MESSAGING_ACCESS_TOKEN)
    blob.set_rich_menu_image(
        menu.rich_menu_id, body=b"\x89PNG fake", _headers={"Content-Type": "image/png"}
    )
    line_messaging.link_rich_menu(**link, rich_menu_id=menu.rich_menu_id)
    linked = api.get_rich_menu_id_of_user(SOMCHAI).rich_menu_id
    line_messaging.unlink_rich_menu(**link)

    assert no_image.value.status == 400
    assert linked == menu.rich_menu_id
    assert fake_line.rich_menu_of(channel_id=MESSAGING_CHANNEL_ID, user_id=SOMCHAI) is None


def test_push_text_when_line_is_unreachable_is_line_unavailable(unreachable_line):
    with pytest.raises(LineUnavailable):
        line_messaging.push_text(channel_access_token="t", to=SOMCHAI, text="x")


def test_control_endpoints_register_users_and_reset(fake_line):
    created = requests.post(
        f"{fake_line.base_url}/__fake__/users", json={"display_name": "Joy"}, timeout=5
    ).json()
    line_messaging.push_text(
        channel_access_token=MESSAGING_ACCESS_TOKEN, to=created["user_id"], text="welcome"
    )
    listed = requests.get(f"{fake_line.base_url}/__fake__/messages", timeout=5).json()

    requests.post(f"{fake_line.base_url}/__fake__/reset", timeout=5)

    assert [m["to"] for m in listed] == [[created["user_id"]]]
    assert fake_line.messages == []
    assert created["user_id"] not in fake_line.users
    assert SOMCHAI in fake_line.users  # the default test users come back
    assert MESSAGING_CHANNEL_ID in fake_line.channels  # channels survive a reset
