"""The keyword-rule form's reply kinds: a picture is required where the kind needs one, tappable
areas are checked against the picture, tier replies only offer the shop's own tiers, the list
shows each rule's kind, and a new picture gets a new public key."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from campaigns.autoreplies.messages import imagemap_height, parse_areas
from campaigns.autoreplies.models import KeywordRule, KeywordTierReply
from tests.campaigns.autoreplies.test_admin import NO_TIER_REPLIES
from tests.factories import TierFactory

pytestmark = pytest.mark.django_db


def upload(width=1040, height=520) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(out, format="JPEG")
    return SimpleUploadedFile("menu.jpg", out.getvalue(), content_type="image/jpeg")


def post_rule(client, url=None, **data):
    base = {
        "name": "เมนู",
        "match": "contains",
        "keywords": "เมนู",
        "position": 0,
        "active": "on",
        "reply_unbound": "ดูเมนู",
        "kind": "text",
        **NO_TIER_REPLIES,
    }
    return client.post(url or reverse("admin:campaigns_keywordrule_add"), {**base, **data})


def form_errors(response) -> dict:
    return response.context["adminform"].form.errors


@pytest.mark.parametrize("kind", ["image", "imagemap"])
def test_a_picture_kind_without_a_picture_is_refused(owner_client, shop, kind):
    response = post_rule(owner_client, kind=kind, imagemap_areas="0,0,10,10,x")
    assert response.status_code == 200
    assert "image" in form_errors(response)
    assert not KeywordRule.objects.exists()


def test_an_area_outside_the_picture_is_refused_naming_its_line(owner_client, shop):
    # 1040 × 520 at the base width: y 400 + 200 runs 80 px below it
    response = post_rule(
        owner_client,
        kind="imagemap",
        image=upload(1040, 520),
        imagemap_areas="0, 0, 520, 520, https://shop.example\n0, 400, 520, 200, เมนู",
    )
    assert response.status_code == 200
    [error] = form_errors(response)["imagemap_areas"]
    assert error.startswith("Line 2:") or error.startswith("บรรทัด 2")
    assert not KeywordRule.objects.exists()


def test_a_tappable_picture_saves_and_the_list_shows_its_kind(owner_client, shop, other_shop):
    KeywordRule.objects.create(shop=other_shop, name="SECRET", keywords="x", reply_unbound="x")
    response = post_rule(
        owner_client,
        kind="imagemap",
        image=upload(2080, 1040),
        imagemap_areas="0, 0, 1040, 520, https://shop.example/menu",
    )
    assert response.status_code == 302, form_errors(response)
    saved = KeywordRule.objects.get(shop=shop)
    assert saved.kind == "imagemap" and saved.image.name.startswith(f"autoreplies/{shop.pk}/")
    html = owner_client.get(reverse("admin:campaigns_keywordrule_changelist")).content.decode()
    assert 'data-kind="imagemap"' in html and "SECRET" not in html
    change = owner_client.get(reverse("admin:campaigns_keywordrule_change", args=[saved.pk]))
    assert 'data-testid="picture"' in change.content.decode()


def test_a_new_picture_gets_a_new_public_key(owner_client, shop):
    post_rule(owner_client, kind="image", image=upload())
    saved = KeywordRule.objects.get()
    first_key = saved.image_key
    url = reverse("admin:campaigns_keywordrule_change", args=[saved.pk])
    response = post_rule(owner_client, url=url, kind="image", image=upload(800, 800))
    assert response.status_code == 302
    saved.refresh_from_db()
    assert saved.image_key != first_key
    post_rule(owner_client, url=url, kind="image", name="renamed")
    key_after_rename = KeywordRule.objects.get().image_key
    assert key_after_rename == saved.image_key


def test_a_text_rule_with_no_reply_at_all_is_refused(owner_client, shop):
    response = post_rule(owner_client, reply_unbound="", reply_bound="")
    assert "reply_unbound" in form_errors(response)


def test_tier_replies_offer_only_the_shops_tiers(owner_client, shop, other_shop):
    mine, theirs = TierFactory(shop=shop, name="Gold"), TierFactory(shop=other_shop, name="B-TIER")
    page = owner_client.get(reverse("admin:campaigns_keywordrule_add")).content.decode()
    assert "Gold" in page and "B-TIER" not in page

    def with_tier(tier):
        return {
            **NO_TIER_REPLIES,
            "tier_replies-TOTAL_FORMS": "1",
            "tier_replies-0-tier": str(tier.pk),
            "tier_replies-0-text": "สำหรับ {tier}",
        }

    refused = post_rule(owner_client, **with_tier(theirs))
    assert refused.status_code == 200 and not KeywordRule.objects.exists()
    assert post_rule(owner_client, **with_tier(mine)).status_code == 302
    assert KeywordTierReply.objects.get().tier == mine


def test_tier_reply_with_a_bad_placeholder_is_refused(owner_client, shop):
    gold = TierFactory(shop=shop)
    response = post_rule(
        owner_client,
        **{
            **NO_TIER_REPLIES,
            "tier_replies-TOTAL_FORMS": "1",
            "tier_replies-0-tier": str(gold.pk),
            "tier_replies-0-text": "{nope}",
        },
    )
    assert response.status_code == 200 and not KeywordRule.objects.exists()


def test_greeting_has_the_coupons_switch(owner_client, shop):
    response = owner_client.post(
        reverse("admin:campaigns_greeting_add"),
        {"new_unbound": "สวัสดี", "points_keyword": "on", "link_keyword": "on"},
    )
    assert response.status_code == 302
    assert shop.line_greeting.coupons_keyword is False  # an unticked box is off


# -- the pure area rules ------------------------------------------------------------------------


def test_areas_parse_links_and_texts():
    link, text = parse_areas("0,0,520,520,https://a.example/x\n\n520, 0, 520, 520, สวัสดี ครับ")
    assert link.action()["type"] == "uri" and link.uri == "https://a.example/x"
    assert text.action() == {
        "type": "message",
        "text": "สวัสดี ครับ",
        "area": {"x": 520, "y": 0, "width": 520, "height": 520},
    }


@pytest.mark.parametrize(
    "raw",
    [
        "0,0,520",  # too few parts
        "a,0,10,10,x",  # not a number
        "0,0,0,10,x",  # empty width
        "-1,0,10,10,x",  # outside on the left
        "600,0,500,10,x",  # past 1040
        "0,500,10,30,x",  # below a 1040 × 520 picture
        "0,0,10,10," + "ก" * 401,  # a text over LINE's 400
    ],
)
def test_bad_areas_are_refused(raw):
    with pytest.raises(ValidationError):
        parse_areas(raw, base_height=520)


def test_the_base_height_keeps_the_pictures_proportions():
    assert imagemap_height(2080, 1040) == 520
    assert imagemap_height(800, 1200) == 1560
