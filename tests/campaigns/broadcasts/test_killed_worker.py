"""A broadcast's send job killed with SIGKILL in the middle of a send, as a machine or an OOM
killer would: a real child process runs the job (small batches, each handed to the outbox and
sent to the fake LINE at once), LINE accepts the third batch and the process dies before it hears
so; the job and the outbox are then run again. Every recipient gets the message exactly once.

And two runs of the same job at the same moment queue each recipient once (threads, PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.db.models import Max

from campaigns.broadcasts import services
from campaigns.broadcasts.models import Broadcast, BroadcastRecipient
from campaigns.broadcasts.results import broadcast_results
from campaigns.broadcasts.services import broadcast_confirm, broadcast_save, broadcast_send
from loyalty.outbox.models import OutboxMessage
from loyalty.outbox.tasks import outbox_drain
from tests.campaigns.broadcasts.conftest import everyone, friend
from tests.concurrency import run_concurrently

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="PostgreSQL: a second process and row locks between threads",
    ),
]

R = BroadcastRecipient
MEMBERS = 20
BATCH = 2
JOB = (
    "import django; django.setup()\n"
    "from campaigns.broadcasts import services\n"
    "services.BATCH = {batch}\n"
    "services.broadcast_send({pk})\n"
)


def _child_env(base_url: str) -> dict[str, str]:
    """The child runs the project's settings against this test's database and fake LINE, with
    django-q in sync mode: each batch's outbox rows are sent as soon as the batch commits."""
    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loyalty.settings",
        "DEBUG": "true",
        "SECRET_KEY": settings.SECRET_KEY,
        "FIELD_ENCRYPTION_KEY": settings.FIELD_ENCRYPTION_KEY,
        "LINE_API_BASE_URL": base_url,
        "LINE_API_DATA_BASE_URL": base_url,
        "LINE_HTTP_TIMEOUT": "60",
        "Q_SYNC": "true",
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
    }


def _wait_for(condition, *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _audience(shop, fake_line) -> list[str]:
    users = [f"U{shop.pk:04d}{n:028x}" for n in range(MEMBERS)]
    for user in users:
        fake_line.add_user(user_id=user, display_name=user[-4:])
        friend(shop, user)
    return users


def _confirmed(shop) -> Broadcast:
    broadcast = broadcast_save(
        shop=shop,
        name="Flash sale",
        segment_ids=[everyone(shop).pk],
        messages=[{"type": "text", "text": "ลด 50% วันนี้ที่ {shop}"}],
    )
    return broadcast_confirm(broadcast=broadcast, recipients=MEMBERS)


def _delivered(fake_line) -> Counter:
    return Counter(user for entry in fake_line.messages for user in entry["to"])


def test_a_send_job_killed_mid_send_resumes_and_everyone_gets_it_once(line_shop, fake_line):
    users = _audience(line_shop, fake_line)
    broadcast = _confirmed(line_shop)
    # given LINE takes two batches at once, then takes the third and goes silent
    fake_line.fail_sends(2, delay=0.2, accept=True)
    fake_line.fail_sends(1, delay=15, accept=True)
    job = subprocess.Popen(  # noqa: S603 - our own code in a child interpreter
        [sys.executable, "-c", JOB.format(batch=BATCH, pk=broadcast.pk)],
        env=_child_env(fake_line.base_url),
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(lambda: len(fake_line.messages) == 3, seconds=60, what="three batches sent")
        # when the job is killed while LINE's answer to the third batch is on its way
        job.send_signal(signal.SIGKILL)
        job.wait(timeout=10)
    finally:
        if job.poll() is None:
            job.kill()
        errors = job.stderr.read().decode(errors="replace")
        job.stderr.close()
    assert job.returncode == -signal.SIGKILL, errors

    # then it died mid-send: three batches queued (the third claimed, unanswered), the rest waiting
    broadcast.refresh_from_db()
    assert broadcast.state == Broadcast.State.SENDING
    assert R.objects.filter(state=R.State.QUEUED).count() == 3 * BATCH
    assert R.objects.filter(state=R.State.PENDING).count() == MEMBERS - 3 * BATCH
    states = Counter(OutboxMessage.objects.values_list("state", flat=True))
    assert states == {OutboxMessage.State.SENT: 2, OutboxMessage.State.SENDING: 1}
    assert broadcast_results(broadcast).pending == MEMBERS - 2 * BATCH

    # when the job runs again (the every-minute schedule) and the outbox drains after the lease
    services.broadcasts_due()
    lease_ends = OutboxMessage.objects.aggregate(m=Max("next_attempt_at"))["m"]
    with time_machine.travel(lease_ends + dt.timedelta(seconds=1)):
        outbox_drain(seconds=30)

    # then everyone got it exactly once, and every row says so
    assert _delivered(fake_line) == Counter(users)
    broadcast.refresh_from_db()
    assert broadcast.state == Broadcast.State.SENT
    assert set(R.objects.values_list("state", flat=True)) == {R.State.QUEUED}
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {OutboxMessage.State.SENT}
    results = broadcast_results(broadcast)
    assert (results.sent, results.failed, results.pending) == (MEMBERS, 0, 0)


def test_two_runs_of_the_job_at_once_queue_each_recipient_once(line_shop, fake_line, monkeypatch):
    users = _audience(line_shop, fake_line)
    broadcast = _confirmed(line_shop)
    monkeypatch.setattr(services, "BATCH", 3)

    results = run_concurrently(lambda _i: broadcast_send(broadcast.pk), 2)

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(r["queued"] for r in results) == MEMBERS
    queued = Counter(user for row in OutboxMessage.objects.all() for user in row.recipients)
    assert queued == Counter(users)
    assert R.objects.filter(state=R.State.QUEUED).count() == MEMBERS
    outbox_drain(seconds=30)
    assert _delivered(fake_line) == Counter(users)
