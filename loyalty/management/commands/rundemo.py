"""Serve the demo: the web server, a django-q2 cluster, the fake LINE platform and the fake SMS
gateway on loopback, stopped together — all of them, within a couple of seconds — by Ctrl-C or
SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

# Extra processes, as (label, argv after "manage.py").
EXTRA_PROCESSES: list[tuple[str, list[str]]] = []
if settings.FAKE_LINE_PORT:
    # The member pages sign in through it (settings point LINE's URLs at it with DEBUG).
    EXTRA_PROCESSES.append(("line", ["fake_line", "--port", str(settings.FAKE_LINE_PORT)]))
if settings.FAKE_SMS_PORT:
    # One-time codes by SMS land there (settings point SMS_BASE_URL at it with DEBUG).
    EXTRA_PROCESSES.append(("sms", ["fake_sms", "--port", str(settings.FAKE_SMS_PORT)]))

# How long the children get to stop after SIGTERM before they are killed. The django-q2 cluster
# waits for its workers' current jobs on a plain stop (over a minute with a long job); in the
# demo nothing is worth that wait, and every job is safe to run again.
STOP_GRACE_SECONDS = 2.0


class _StopRequest:
    """Set by SIGINT/SIGTERM. A flag, not an exception raised from the handler: an exception can
    land inside ``Popen.poll()`` while it holds its lock, and the ``wait()`` that follows would
    then hang for ever."""

    def __init__(self):
        self.asked = False

    def __call__(self, signum, frame):
        self.asked = True


def stop_process_groups(processes: list[subprocess.Popen], *, grace: float) -> None:
    """SIGTERM each child's process group (the child and what it started, e.g. the q cluster's
    workers), wait up to ``grace`` seconds in all, then SIGKILL the groups still there."""
    for process in processes:
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for process in processes:
        # Grandchildren can outlive their parent: the group is killed whether or not it exited.
        _signal_group(process, signal.SIGKILL)
        if process.poll() is None:
            process.wait()


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _demo_webhook_url(base: str) -> str:
    from django.urls import reverse

    from loyalty.management.commands.seed_demo import DEMO_SLUG

    return base + reverse("line-webhook", kwargs={"shop_slug": DEMO_SLUG})


def _demo_line() -> tuple[str, str]:
    """The demo OA's name, and a banner line with the fake chat of the demo member bound to a
    LINE user ("" when the demo is not seeded)."""
    from loyalty.line.fake import DEMO_MEMBER_USER
    from loyalty.management.commands.seed_demo import DEMO_SLUG
    from loyalty.phones import format_phone_local
    from members.models import Member
    from shops.models import Shop

    shop = Shop.objects.filter(slug=DEMO_SLUG).first()
    if shop is None:
        return "", ""
    user_id = DEMO_MEMBER_USER["user_id"]
    member = Member.objects.filter(shop=shop, line_user_id=user_id).first()
    if member is None:
        return shop.name, ""
    return shop.name, (
        f"\n  http://127.0.0.1:{settings.FAKE_LINE_PORT}/__fake__/chat/{user_id}"
        f"\n      {DEMO_MEMBER_USER['display_name']}'s LINE chat: add points for "
        f"{format_phone_local(member.phone)} at /staff/ and the notice arrives there"
    )


def _line_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _publish_demo_rich_menus(site_url: str) -> str:
    """Publish the demo shop's rich menus to the fake LINE that just started (it keeps nothing
    between runs), linking each friend to their menu. A failure is reported, not raised: the
    demo runs on without menus."""
    from loyalty.management.commands._demo_richmenus import demo_rich_menus_publish
    from loyalty.management.commands.seed_demo import DEMO_SLUG
    from shops.models import Shop

    shop = Shop.objects.filter(slug=DEMO_SLUG).first()
    if shop is None:
        return ""
    settings.SITE_URL = site_url  # the member pages' links in the menus point at this demo
    try:
        return demo_rich_menus_publish(shop=shop, line_restarted=True)
    except Exception as exc:  # the demo must keep running whatever went wrong
        return f"Rich menus: not published ({exc!r})"


class Command(BaseCommand):
    help = "Run the demo: web server + django-q2 cluster (+ fake LINE), with the URLs printed."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args, host: str, port: str, **options):
        base = f"http://{host}:{port}"
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        # Each child leads its own process group: Ctrl-C in the terminal reaches this command
        # only, and this command stops each group as a whole.
        commands = [("jobs", ["qcluster"])]
        chat_line = ""
        for label, argv in EXTRA_PROCESSES:
            if label == "line":
                # The fake LINE posts its users' follow, block and messages to the demo shop.
                oa_name, chat_line = _demo_line()
                argv = [*argv, "--webhook-url", _demo_webhook_url(base), "--oa-name", oa_name]
            commands.append((label, argv))
        commands.append(("web", ["runserver", f"{host}:{port}", "--noreload"]))
        processes: list[subprocess.Popen] = []
        # Links that leave a request (the member-page links in LINE notices, rendered where the
        # notice is queued) point at the demo, unless SITE_URL says otherwise.
        env = {**os.environ, "SITE_URL": os.environ.get("SITE_URL") or base}
        # A parent that blocked these signals (a test runner's thread, a supervisor) passes its
        # mask on; this command must hear them whatever it inherited.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
        stop = _StopRequest()
        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            for _label, argv in commands:
                if stop.asked:
                    break
                processes.append(
                    subprocess.Popen([*manage, *argv], start_new_session=True, env=env)  # noqa: S603
                )
            self.stdout.write(
                self.style.SUCCESS("\nThe demo is running. Open:")
                + f"\n  {base}/            landing page (links every face)"
                + f"\n  {base}/admin/      back office (owner / demo-pass-2026)"
                + f"\n  {base}/m/cafe-aroi/ member pages (sign in with the fake LINE)"
                + (
                    f"\n  http://127.0.0.1:{settings.FAKE_LINE_PORT}/  the fake LINE: test users, "
                    "their chats with the OA"
                    if settings.FAKE_LINE_PORT
                    else ""
                )
                + chat_line
                + (
                    f"\n  http://127.0.0.1:{settings.FAKE_SMS_PORT}/  the fake SMS gateway's inbox"
                    if settings.FAKE_SMS_PORT
                    else ""
                )
                + "\nPress Ctrl-C to stop (everything stops within a few seconds).\n"
            )
            self.stdout.flush()
            # The fake LINE starts empty: the demo's rich menus are published once it answers.
            menus_pending = bool(settings.FAKE_LINE_PORT)
            while not stop.asked and all(p.poll() is None for p in processes):
                if menus_pending and _line_answers(settings.FAKE_LINE_PORT):
                    menus_pending = False
                    self.stdout.write(_publish_demo_rich_menus(env["SITE_URL"]))
                    self.stdout.flush()
                time.sleep(0.3)
        finally:
            # A second Ctrl-C while stopping must not leave children behind.
            for sig in previous:
                signal.signal(sig, signal.SIG_IGN)
            stop_process_groups(processes, grace=STOP_GRACE_SECONDS)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("The demo stopped.")
