"""The ``fake_sms`` fixture: the project's fake SMS gateway on loopback, for any test folder.

Import it into a folder's ``conftest.py`` (``from tests.sms_fixtures import fake_sms``). The fixture
starts a ``FakeSmsGateway`` on a free port and points the SMS settings at it, so
``loyalty.sms`` and the real ThaiBulkSMS adapter inside it talk to it exactly as they would to
ThaiBulkSMS. Without the fixture, tests run with SMS off (production-like settings, no API key).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest

from loyalty.sms.fake_server import FakeSmsGateway

SMS_API_KEY = "test-sms-key"
SMS_API_SECRET = "test-sms-secret-0123456789"
SMS_SENDER = "CAFE"
_CODE = re.compile(r"\b(\d{6})\b")


@pytest.fixture
def fake_sms(settings) -> Iterator[FakeSmsGateway]:
    """A running fake SMS gateway; the settings point at it for the test's duration."""
    server = FakeSmsGateway(api_key=SMS_API_KEY, api_secret=SMS_API_SECRET).start()
    settings.SMS_BACKEND = "thaibulksms"
    settings.SMS_BASE_URL = server.base_url
    settings.SMS_API_KEY = SMS_API_KEY
    settings.SMS_API_SECRET = SMS_API_SECRET
    settings.SMS_SENDER = SMS_SENDER
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def unreachable_sms(settings) -> Iterator[str]:
    """The gateway is down: SMS_BASE_URL points at a loopback port that refuses connections (kept
    bound, not listening, for the test's duration)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        settings.SMS_BACKEND = "thaibulksms"
        settings.SMS_BASE_URL = base_url
        settings.SMS_API_KEY = SMS_API_KEY
        settings.SMS_API_SECRET = SMS_API_SECRET
        settings.SMS_HTTP_TIMEOUT = 2
        yield base_url


def last_code(server: FakeSmsGateway, phone_e164: str) -> str:
    """The 6-digit code in the newest SMS to ``phone_e164``."""
    texts = server.texts_to(phone_e164)
    assert texts, f"no SMS to {phone_e164}"
    match = _CODE.search(texts[0])
    assert match, texts[0]
    return match.group(1)
