"""Serve the demo: the web server and a django-q2 cluster (and, once the member pages exist, the
fake LINE platform and the fake SMS gateway on loopback), stopped together with Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

# Extra processes later issues add, as (label, argv after "manage.py").
EXTRA_PROCESSES: list[tuple[str, list[str]]] = []
if settings.FAKE_LINE_PORT:
    # The member pages sign in through it (settings point LINE's URLs at it with DEBUG).
    EXTRA_PROCESSES.append(("line", ["fake_line", "--port", str(settings.FAKE_LINE_PORT)]))
if settings.FAKE_SMS_PORT:
    # One-time codes by SMS land there (settings point SMS_BASE_URL at it with DEBUG).
    EXTRA_PROCESSES.append(("sms", ["fake_sms", "--port", str(settings.FAKE_SMS_PORT)]))


class Command(BaseCommand):
    help = "Run the demo: web server + django-q2 cluster, with the URLs printed."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args, host: str, port: str, **options):
        base = f"http://{host}:{port}"
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        processes = [
            ("jobs", subprocess.Popen([*manage, "qcluster"])),  # noqa: S603
        ]
        for label, argv in EXTRA_PROCESSES:
            processes.append((label, subprocess.Popen([*manage, *argv])))  # noqa: S603
        web = subprocess.Popen([*manage, "runserver", f"{host}:{port}", "--noreload"])  # noqa: S603
        processes.append(("web", web))
        self.stdout.write(
            self.style.SUCCESS("\nThe demo is running. Open:")
            + f"\n  {base}/            landing page (links every face)"
            + f"\n  {base}/admin/      back office (owner / demo-pass-2026)"
            + f"\n  {base}/m/cafe-aroi/ member pages (sign in with the fake LINE)"
            + (
                f"\n  http://127.0.0.1:{settings.FAKE_SMS_PORT}/  the fake SMS gateway's inbox"
                if settings.FAKE_SMS_PORT
                else ""
            )
            + "\nPress Ctrl-C to stop.\n"
        )
        try:
            while all(p.poll() is None for _, p in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for _label, process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGINT)
            for _label, process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
