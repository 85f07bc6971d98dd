"""Tenant isolation of every member page: a member signed in to shop A who opens shop B's pages
is a stranger there, and no page of A ever shows B's data.

The test walks ``members.pages.urls``, so a page added later is covered automatically."""

from __future__ import annotations

import pytest
from django.urls import reverse

from members.models import Member
from members.pages.urls import urlpatterns
from members.qr_models import MemberCode
from tests.factories import MemberFactory
from tests.line_fixtures import SOMCHAI
from tests.members.pages.conftest import register

pytestmark = pytest.mark.django_db

MARKER = "TWIN-OF-B-SECRET"  # the B member's name (B's own name is public on its pages)
NAMES = [p.name for p in urlpatterns]
# Pages anyone may open (they sign in, or prove a phone on the account-link page); every other
# page needs a member of the URL's shop.
PUBLIC = {"login", "callback", "liff", "logout", "home", "link"}


@pytest.fixture
def a_member_with_b_twin(client, fake_line, line_shop, other_line_shop):
    """Somchai is a member of A (signed in) and, with the same LINE account, of B (not)."""
    register(client, fake_line, line_shop, SOMCHAI)
    twin = MemberFactory(
        shop=other_line_shop,
        line_user_id=SOMCHAI,
        first_name=MARKER,
        phone="+66811111111",
    )
    return client, twin


@pytest.mark.parametrize("name", NAMES)
def test_a_member_of_shop_a_is_a_stranger_on_shop_bs_pages(a_member_with_b_twin, name):
    client, twin = a_member_with_b_twin
    url = reverse(f"member:{name}", kwargs={"shop_slug": "shop-b"})

    for method in ("get", "post"):
        response = getattr(client, method)(url, {"confirm": "on", "marketing": "on"})
        body = response.content.decode()
        assert MARKER not in body, (name, method)
        assert "+66811111111" not in body
        if name in PUBLIC:
            continue
        assert response.status_code in (302, 405), (name, method, response.status_code)
        if response.status_code == 302:
            assert response["Location"].startswith("/m/shop-b/login/"), (name, method)

    twin.refresh_from_db()
    assert twin.status == Member.Status.REGISTERED
    assert twin.first_name == MARKER
    assert not MemberCode.objects.filter(member=twin).exists()
    assert not twin.consents.exists()


@pytest.mark.parametrize("name", sorted(set(NAMES) - PUBLIC - {"delete", "card_code"}))
def test_shop_as_pages_never_show_shop_bs_data(a_member_with_b_twin, name):
    client, _twin = a_member_with_b_twin
    url = reverse(f"member:{name}", kwargs={"shop_slug": "cafe"})

    response = client.get(url, follow=True)

    assert response.status_code in (200, 405)
    body = _text(response)
    assert MARKER not in body
    assert "+66811111111" not in body


def _text(response) -> str:
    if response.get("Content-Type", "").startswith("application/vnd.openxmlformats"):
        import io

        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(response.content), read_only=True)
        return " ".join(
            str(value)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
        )
    return response.content.decode()
