"""`manage.py rundemo` (what `make run` starts) stops the web server, the django-q2 cluster with its
workers and the fake LINE server within a few seconds of Ctrl-C or SIGTERM: none is left behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    """The test database, for the demo's processes to use (its tables are migrated)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (read from /proc: children of children too)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def signal_state(pid: int) -> str:
    """The blocked and ignored signal masks of ``pid``, for a failure message."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "gone"
    return " ".join(line for line in status.splitlines() if line.startswith(("SigBlk", "SigIgn")))


def start_demo(log: Path, line_port: int | None = None) -> tuple[subprocess.Popen, int]:
    port, line_port = free_port(), line_port or free_port()
    env = {
        **os.environ,
        "DEBUG": "true",
        "TESTING": "false",
        "DATABASE_URL": database_url(),
        "FAKE_LINE_PORT": str(line_port),
        "Q_WORKERS": "1",
    }
    demo = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "rundemo", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200 and len(descendants(demo.pid)) >= 4:
                    return demo, port
        except OSError:
            pass
        assert demo.poll() is None, "rundemo exited before it answered"
        time.sleep(0.5)
    os.killpg(demo.pid, signal.SIGKILL)
    pytest.fail("the demo did not answer within 90 s")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_rundemo_stops_every_child_within_seconds(signum, tmp_path):
    # given the demo running: web server, q cluster (and its workers), fake LINE server
    log = tmp_path / "rundemo.log"
    demo, _port = start_demo(log)
    children = descendants(demo.pid)
    try:
        # when it gets Ctrl-C (SIGINT) or SIGTERM
        os.kill(demo.pid, signum)
        started = time.monotonic()
        while time.monotonic() - started < 5 and (
            demo.poll() is None or any(alive(pid) for pid in children)
        ):
            time.sleep(0.1)

        # then it and every process it started are gone within ~5 s
        assert demo.poll() is not None, (
            f"rundemo still running after {time.monotonic() - started:.1f} s "
            f"({signal_state(demo.pid)}); its output:\n{log.read_text()[-3000:]}"
        )
        assert [pid for pid in children if alive(pid)] == []
    finally:
        for pid in [demo.pid, *children]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        demo.wait(timeout=10)


def test_the_demo_wires_the_fake_lines_chat_to_the_demo_shops_webhook(tmp_path):
    """``make run``: the banner names the bound member's fake chat, and a message typed there
    reaches the demo shop's real webhook and job cluster."""
    import io
    import urllib.parse

    from django.core.management import call_command

    from loyalty.line.fake import DEMO_MEMBER_USER
    from members.line.models import WebhookEvent

    # given the demo seeded and running
    call_command("seed_demo", stdout=io.StringIO())
    log = tmp_path / "rundemo.log"
    line_port = free_port()
    demo, _port = start_demo(log, line_port)
    children = descendants(demo.pid)
    try:
        chat = f"http://127.0.0.1:{line_port}/__fake__/chat/{DEMO_MEMBER_USER['user_id']}"
        deadline = time.monotonic() + 30
        while chat not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.3)
        assert chat in log.read_text()
        # the fake LINE process may still be starting when the web server already answers
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(chat, timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        # when Mali writes to the shop in her fake LINE chat
        body = urllib.parse.urlencode({"action": "message", "text": "มีโต๊ะว่างไหมคะ"}).encode()
        with urllib.request.urlopen(chat, data=body, timeout=10) as answer:
            page = answer.read().decode()
        # then the shop's webhook answered 200, stored the event, and the job cluster handled it
        assert "data-status='200'" in page
        # (a loaded CI machine can take a while to start the cluster's workers: a long deadline
        # that a passing run never waits out)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            event = WebhookEvent.objects.filter(event_type="message").first()
            if event is not None and event.outcome != WebhookEvent.Outcome.PENDING:
                break
            time.sleep(0.5)
        assert event is not None and event.payload["message"]["text"] == "มีโต๊ะว่างไหมคะ"
        assert event.outcome in (WebhookEvent.Outcome.PROCESSED, WebhookEvent.Outcome.UNHANDLED)
    finally:
        os.kill(demo.pid, signal.SIGTERM)
        demo.wait(timeout=15)
        for pid in children:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
