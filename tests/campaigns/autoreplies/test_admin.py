"""The "LINE chat" back-office pages: each shop sees and edits only its own rules, greeting and
typed keywords; the list shows how each rule matches; bad placeholders are refused."""

from __future__ import annotations

import pytest
from django.urls import reverse

from campaigns.autoreplies.models import Greeting, KeywordRule, TypedKeyword

pytestmark = pytest.mark.django_db

# The tier replies' inline formset: none sent.
NO_TIER_REPLIES = {
    "tier_replies-TOTAL_FORMS": "0",
    "tier_replies-INITIAL_FORMS": "0",
    "tier_replies-MIN_NUM_FORMS": "0",
    "tier_replies-MAX_NUM_FORMS": "1000",
}


def rule(shop, **kw):
    defaults = {"name": "menu", "match": "contains", "keywords": "เมนู\nMenu", "reply_unbound": "u"}
    return KeywordRule.objects.create(shop=shop, **{**defaults, **kw})


def test_rules_list_is_the_shops_own_with_how_each_matches(owner_client, shop, other_shop):
    rule(shop, name="เมนูร้าน")
    theirs = rule(other_shop, name="SECRET-RULE")
    response = owner_client.get(reverse("admin:campaigns_keywordrule_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "เมนูร้าน" in html and "SECRET-RULE" not in html
    assert "“เมนู”" in html and "“menu”" in html
    url = reverse("admin:campaigns_keywordrule_change", args=[theirs.pk])
    assert owner_client.get(url).status_code in (302, 404)


def test_adding_a_rule_saves_it_for_the_owners_shop(owner_client, shop):
    response = owner_client.post(
        reverse("admin:campaigns_keywordrule_add"),
        {
            "name": "เวลาเปิด",
            "match": "contains",
            "keywords": "เปิดกี่โมง\nเวลาเปิด",
            "position": 1,
            "active": "on",
            "reply_bound": "คุณ{name} ร้านเปิด 9 โมง",
            "reply_unbound": "ร้านเปิด 9 โมง",
            "kind": "text",
            **NO_TIER_REPLIES,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    saved = KeywordRule.objects.get()
    assert saved.shop == shop and saved.keywords == "เปิดกี่โมง\nเวลาเปิด"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"keywords": "x", "reply_unbound": "{points_left}"}, "reply_unbound"),
        ({"keywords": " \n "}, "keywords"),
    ],
)
def test_a_bad_rule_is_refused(owner_client, shop, data, field):
    base = {
        "name": "r",
        "match": "exact",
        "position": 0,
        "active": "on",
        "reply_unbound": "hi",
        "kind": "text",
        **NO_TIER_REPLIES,
    }
    response = owner_client.post(reverse("admin:campaigns_keywordrule_add"), {**base, **data})
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not KeywordRule.objects.exists()


def test_greeting_is_the_shops_own_and_one_per_shop(owner_client, shop, other_shop):
    Greeting.objects.create(shop=other_shop, new_unbound="SECRET-GREETING")
    response = owner_client.post(
        reverse("admin:campaigns_greeting_add"),
        {"new_unbound": "ยินดีต้อนรับ", "points_keyword": "on"},
    )
    assert response.status_code == 302
    assert Greeting.objects.get(shop=shop).new_unbound == "ยินดีต้อนรับ"
    html = owner_client.get(reverse("admin:campaigns_greeting_changelist")).content.decode()
    assert "SECRET-GREETING" not in html
    assert owner_client.get(reverse("admin:campaigns_greeting_add")).status_code == 403


def test_typed_keywords_top_first_filtered_and_the_shops_own(owner_client, shop, other_shop):
    menu = rule(shop)
    TypedKeyword.objects.create(shop=shop, text="เมนู", count=5, rule=menu)
    TypedKeyword.objects.create(shop=shop, text="สวัสดี", count=9)
    TypedKeyword.objects.create(shop=other_shop, text="secretword", count=99)
    url = reverse("admin:campaigns_typedkeyword_changelist")
    listed = owner_client.get(url).context["cl"].result_list
    assert [t.text for t in listed] == ["สวัสดี", "เมนู"]
    assert [t.text for t in owner_client.get(url + "?matched=no").context["cl"].result_list] == [
        "สวัสดี"
    ]
    assert [t.text for t in owner_client.get(url + "?matched=yes").context["cl"].result_list] == [
        "เมนู"
    ]
    assert owner_client.get(reverse("admin:campaigns_typedkeyword_add")).status_code == 403


def test_the_sidebar_has_the_line_chat_group(owner_client, shop):
    html = owner_client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:campaigns_keywordrule_changelist") in html
    assert reverse("admin:campaigns_typedkeyword_changelist") in html


def test_the_rule_page_previews_each_audiences_reply_with_a_sample(owner_client, shop):
    saved = rule(shop, reply_bound="คุณ{name} มี {balance} พอยท์", reply_unbound="สวัสดีคุณ{name}")
    page = owner_client.get(
        reverse("admin:campaigns_keywordrule_change", args=[saved.pk])
    ).content.decode()
    assert 'data-testid="preview-bound">คุณสมชาย มี 1,250 พอยท์<' in page
    assert 'data-testid="preview-unbound">สวัสดีคุณลูกค้า<' in page
