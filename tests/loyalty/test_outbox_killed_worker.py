"""A real worker process killed with SIGKILL after LINE accepted its multicast and before it could
record that: the row stays claimed, the drain takes it over once the lease runs out, LINE answers
409 to the same retry key, and every recipient got the message exactly once.

The other exactly-once tests make the database refuse the "sent" update inside this process; this
one kills an operating-system process mid-request, as a machine or an OOM killer would.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import signal
import subprocess
import sys
import time

import pytest
import time_machine
from django.conf import settings
from django.db import connection, transaction

from loyalty.outbox.models import OutboxMessage
from loyalty.outbox.services import outbox_enqueue
from loyalty.outbox.tasks import outbox_drain
from shops.models import ShopLineChannel
from tests.factories import ShopFactory
from tests.line_fixtures import MESSAGING_ACCESS_TOKEN

pytestmark = pytest.mark.django_db(transaction=True)

State = OutboxMessage.State
WORKER = (
    "import django; django.setup(); from loyalty.outbox.tasks import outbox_send; outbox_send({pk})"
)


def _worker_env(base_url: str) -> dict[str, str]:
    """The child runs the project's own settings against this test's database and fake LINE."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loyalty.settings",
        "DEBUG": "true",
        "SECRET_KEY": settings.SECRET_KEY,
        "FIELD_ENCRYPTION_KEY": settings.FIELD_ENCRYPTION_KEY,
        "LINE_API_BASE_URL": base_url,
        "LINE_API_DATA_BASE_URL": base_url,
        "LINE_HTTP_TIMEOUT": "60",
    }
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        env["SQLITE_PATH"] = db["NAME"]
        env.pop("DATABASE_URL", None)
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    return env


def _wait_for(condition, *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_a_worker_process_killed_after_line_accepted_never_sends_twice(fake_line):
    shop = ShopFactory()
    ShopLineChannel.objects.create(shop=shop, messaging_access_token=MESSAGING_ACCESS_TOKEN)
    recipients = ["U" + secrets.token_hex(16) for _ in range(3)]
    with transaction.atomic():
        [row] = outbox_enqueue(
            shop_id=shop.pk,
            to=recipients,
            messages=[{"type": "text", "text": "ได้รับ 40 แต้ม"}],
            source="test",
        )
    # given LINE accepts the next multicast and then goes silent, so the worker waits for its answer
    fake_line.fail_sends(delay=20, accept=True)
    worker = subprocess.Popen(  # noqa: S603 - our own code in a child interpreter
        [sys.executable, "-c", WORKER.format(pk=row.pk)],
        env=_worker_env(fake_line.base_url),
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(lambda: fake_line.messages, seconds=30, what="LINE to accept the multicast")
        # when the worker is killed while LINE's answer is on its way
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.stderr.close()
    assert worker.returncode == -signal.SIGKILL
    row.refresh_from_db()
    assert row.state == State.SENDING and row.attempts == 1
    assert len(fake_line.messages) == 1

    # then, once the dead worker's lease has run out, the drain takes the row over
    with time_machine.travel(row.next_attempt_at + dt.timedelta(seconds=1)):
        assert outbox_drain(seconds=5) == 1

    # and LINE answered 409 to the same retry key: sent, each recipient got it exactly once
    row.refresh_from_db()
    assert row.state == State.SENT and row.accepted_request_id
    delivered = [user for entry in fake_line.messages for user in entry["to"]]
    assert sorted(delivered) == sorted(recipients)
    keys = {
        r["headers"]["x-line-retry-key"] for r in fake_line.requests if "multicast" in r["path"]
    }
    assert keys == {str(row.retry_key)}
