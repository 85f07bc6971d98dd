"""The ``fake_line`` fixture: a real fake LINE platform on loopback, for any test folder.

Import it into a folder's ``conftest.py`` (``from tests.line_fixtures import fake_line``). The
fixture starts a ``FakeLineServer`` on a free port, registers a LINE Login channel and a Messaging
API channel (separate channels, as on LINE), and points every LINE base URL in settings at it, so
``loyalty.line`` and the line-bot-sdk inside it talk to it exactly as they talk to LINE.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from loyalty.line.fake import DEFAULT_USERS, FakeLineServer

LOGIN_CHANNEL_ID = "1650000001"
LOGIN_CHANNEL_SECRET = "test-line-login-secret-0123456789ab"
MESSAGING_CHANNEL_ID = "1650000002"
MESSAGING_CHANNEL_SECRET = "test-messaging-secret-0123456789ab"
MESSAGING_ACCESS_TOKEN = "test-channel-access-token"
SOMCHAI, NOK, PLOY = (user["user_id"] for user in DEFAULT_USERS)


@pytest.fixture
def fake_line(settings) -> Iterator[FakeLineServer]:
    """A running fake LINE platform; the settings point at it for the test's duration."""
    server = FakeLineServer()
    server.add_channel(channel_id=LOGIN_CHANNEL_ID, channel_secret=LOGIN_CHANNEL_SECRET)
    server.add_channel(
        channel_id=MESSAGING_CHANNEL_ID,
        channel_secret=MESSAGING_CHANNEL_SECRET,
        access_token=MESSAGING_ACCESS_TOKEN,
    )
    server.start()
    settings.LINE_API_BASE_URL = server.base_url
    settings.LINE_API_DATA_BASE_URL = server.base_url
    settings.LINE_ACCESS_BASE_URL = server.base_url
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def unreachable_line(settings) -> Iterator[str]:
    """LINE is down: every LINE base URL points at a loopback port that refuses connections.

    The port stays bound (without listening) for the test's duration, so no other server, not
    even another xdist worker's fake, can take it and answer by accident.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        settings.LINE_API_BASE_URL = base_url
        settings.LINE_API_DATA_BASE_URL = base_url
        settings.LINE_ACCESS_BASE_URL = base_url
        settings.LINE_HTTP_TIMEOUT = 2
        yield base_url
