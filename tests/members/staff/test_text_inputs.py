"""The staff app refuses the characters typed text may not contain (``loyalty.text``)."""

from __future__ import annotations

import pytest

from members.ledger.models import EntryKind, LedgerEntry
from tests.members.staff.test_today_and_void import add, void

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_a_void_reason_with_a_control_character_is_refused(cashier, manager_client, branch, member):
    entry = add(cashier, branch, member)

    response = void(manager_client, entry, reason="wrong\x08 amount")

    assert response.status_code == 200
    assert (
        "“Why is it voided?” contains an invisible control character (U+0008) at position 6"
        in response.content.decode()
    )
    assert not LedgerEntry.objects.filter(kind=EntryKind.REVERSAL).exists()
