"""Typed contact channels: each kind is checked and stored in one form (shops/validators.py)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from shops.models import ContactChannel
from shops.validators import normalise_contact_value

pytestmark = pytest.mark.usefixtures("english")


def refused(kind: str, value: str) -> ValidationError:
    with pytest.raises(ValidationError) as excinfo:
        normalise_contact_value(kind, value)
    return excinfo.value


# --- phone ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("081-234-5678", "+66812345678"),
        ("0812345678", "+66812345678"),
        ("+66 81 234 5678", "+66812345678"),
        ("02-123-4567", "+6621234567"),
        ("053 123 456", "+6653123456"),
        ("๐๘๑-๒๓๔-๕๖๗๘", "+66812345678"),
    ],
)
def test_phone_channel_is_stored_as_e164(typed, stored):
    assert normalise_contact_value("phone", typed) == stored


def test_phone_channel_refuses_a_non_number():
    error = refused("phone", "call us")

    assert error.messages == ["“call us” is not a phone number."]


def test_phone_channel_refuses_an_impossible_thai_number():
    error = refused("phone", "0012")

    assert "not a phone number" in error.messages[0] or "not a valid" in error.messages[0]


# --- e-mail -----------------------------------------------------------------------------------


def test_email_channel_is_lower_cased():
    assert normalise_contact_value("email", "  Owner@CafeAroi.CO.TH ") == "owner@cafearoi.co.th"


def test_email_channel_refuses_a_non_address():
    assert refused("email", "owner at cafe").messages == ["Enter a valid e-mail address."]


# --- LINE -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("@CafeAroi", "@cafearoi"),
        ("@cafe.aroi_01", "@cafe.aroi_01"),
        ("somchai-88", "somchai-88"),  # a personal LINE ID has no @
        ("https://line.me/R/ti/p/@cafearoi", "https://line.me/R/ti/p/@cafearoi"),
        ("https://lin.ee/AbC123", "https://lin.ee/AbC123"),
        ("line.me/ti/p/~somchai", "https://line.me/ti/p/~somchai"),
    ],
)
def test_line_channel_accepts_ids_and_line_links(typed, stored):
    assert normalise_contact_value("line", typed) == stored


@pytest.mark.parametrize("typed", ["cafe aroi", "@ab", "@" + "a" * 21, "@คาเฟ่"])
def test_line_channel_refuses_a_malformed_id(typed):
    assert refused("line", typed).messages == [
        "Enter a LINE ID (e.g. @cafearoi) or a line.me link."
    ]


def test_line_channel_refuses_a_link_to_another_site():
    error = refused("line", "https://line.me.example.com/ti/p/@cafearoi")

    assert error.messages == ["This link should point to line.me."]


# --- social networks and marketplaces ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "typed", "stored"),
    [
        ("facebook", "https://www.facebook.com/cafearoi", "https://www.facebook.com/cafearoi"),
        ("facebook", "facebook.com/cafearoi", "https://facebook.com/cafearoi"),
        ("facebook", "https://m.me/cafearoi", "https://m.me/cafearoi"),
        ("facebook", "HTTPS://WWW.Facebook.com/CafeAroi", "https://www.facebook.com/CafeAroi"),
        ("instagram", "https://www.instagram.com/cafearoi/", "https://www.instagram.com/cafearoi/"),
        ("instagram", "@cafe.aroi", "https://www.instagram.com/cafe.aroi"),
        ("tiktok", "https://www.tiktok.com/@cafearoi", "https://www.tiktok.com/@cafearoi"),
        ("tiktok", "https://vt.tiktok.com/ZSabc/", "https://vt.tiktok.com/ZSabc/"),
        ("tiktok", "@cafearoi", "https://www.tiktok.com/@cafearoi"),
        ("youtube", "https://youtu.be/abc", "https://youtu.be/abc"),
        ("youtube", "https://www.youtube.com/@cafearoi", "https://www.youtube.com/@cafearoi"),
        ("x", "https://twitter.com/cafearoi", "https://twitter.com/cafearoi"),
        ("x", "x.com/cafearoi", "https://x.com/cafearoi"),
        ("x", "@cafearoi", "https://x.com/cafearoi"),
        ("shopee", "https://shopee.co.th/cafearoi", "https://shopee.co.th/cafearoi"),
        ("shopee", "https://shp.ee/abc123", "https://shp.ee/abc123"),
        (
            "lazada",
            "https://www.lazada.co.th/shop/cafearoi",
            "https://www.lazada.co.th/shop/cafearoi",
        ),
        ("lazada", "https://s.lazada.co.th/s.abc", "https://s.lazada.co.th/s.abc"),
        ("line_shopping", "https://shop.line.me/@cafearoi", "https://shop.line.me/@cafearoi"),
    ],
)
def test_links_are_accepted_for_their_own_site(kind, typed, stored):
    assert normalise_contact_value(kind, typed) == stored


@pytest.mark.parametrize(
    ("kind", "typed", "site"),
    [
        ("lazada", "https://shopee.co.th/cafearoi", "lazada.co.th"),
        ("shopee", "https://www.lazada.co.th/shop/cafearoi", "shopee.co.th"),
        ("facebook", "https://www.instagram.com/cafearoi", "facebook.com"),
        ("instagram", "https://www.facebook.com/cafearoi", "instagram.com"),
        ("tiktok", "https://notiktok.com/@cafearoi", "tiktok.com"),
        ("facebook", "https://facebook.com.evil.example/cafearoi", "facebook.com"),
        ("youtube", "https://www.tiktok.com/@cafearoi", "youtube.com"),
    ],
)
def test_a_link_to_the_wrong_site_is_refused(kind, typed, site):
    error = refused(kind, typed)

    assert error.error_list[0].code == "wrong_site"
    assert error.messages == [f"This link should point to {site}."]


def test_shopee_link_in_the_lazada_row_is_refused_through_the_model():
    channel = ContactChannel(kind="lazada", value="https://shopee.co.th/cafearoi")

    with pytest.raises(ValidationError) as excinfo:
        channel.clean()

    assert excinfo.value.message_dict == {"value": ["This link should point to lazada.co.th."]}


@pytest.mark.parametrize(
    "typed",
    [
        "javascript:alert(1)",
        "ftp://files.cafearoi.com",
        "not a link",
        "https://",
        "https://facebook.com@evil.example/",
        "https://user:secret@www.facebook.com/cafearoi",
    ],
)
def test_links_that_are_not_plain_web_links_are_refused(typed):
    error = refused("facebook", typed)

    assert error.messages == ["Enter a full link, e.g. https://www.example.com/…"]


# --- website ----------------------------------------------------------------------------------


def test_website_without_scheme_gets_https():
    assert normalise_contact_value("website", "cafearoi.example.com") == (
        "https://cafearoi.example.com"
    )


def test_website_accepts_any_site():
    assert normalise_contact_value("website", "http://www.shop.co.th/menu?x=1") == (
        "http://www.shop.co.th/menu?x=1"
    )


def test_website_refuses_a_script_link():
    assert refused("website", "javascript:alert(document.cookie)").error_list[0].code == "invalid"


# --- every kind -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ContactChannel.Kind.values)
def test_every_kind_requires_a_value(kind):
    assert refused(kind, "   ").messages == ["Enter the address for this channel."]


@pytest.mark.parametrize("kind", ContactChannel.Kind.values)
def test_every_kind_has_a_rule(kind):
    """A channel kind added to the model without a rule here would be refused as unknown."""
    samples = {
        "phone": "0812345678",
        "line": "@cafearoi",
        "email": "a@b.co",
        "website": "https://example.com",
        "facebook": "https://facebook.com/a",
        "instagram": "https://instagram.com/a",
        "tiktok": "https://tiktok.com/@a",
        "youtube": "https://youtube.com/@a",
        "x": "https://x.com/a",
        "shopee": "https://shopee.co.th/a",
        "lazada": "https://lazada.co.th/a",
        "line_shopping": "https://shop.line.me/@a",
    }
    assert kind in samples, f"add a sample and a validation rule for the new kind {kind!r}"
    assert normalise_contact_value(kind, samples[kind])


def test_unknown_kind_is_refused():
    assert refused("myspace", "https://myspace.com/a").messages == ["Unknown channel."]


def test_normalising_twice_changes_nothing():
    """The service validates rows the admin already normalised; that must be a no-op."""
    for kind, typed in [
        ("phone", "081-234-5678"),
        ("line", "@CafeAroi"),
        ("email", "A@B.CO"),
        ("instagram", "@cafe"),
        ("facebook", "HTTPS://Facebook.com/Cafe"),
    ]:
        once = normalise_contact_value(kind, typed)
        assert normalise_contact_value(kind, once) == once
