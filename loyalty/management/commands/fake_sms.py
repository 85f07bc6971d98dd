"""Run the fake SMS gateway in the foreground: ThaiBulkSMS's send API on loopback.

``make run`` (``rundemo``) starts it beside the web server on ``FAKE_SMS_PORT``; open its address in
a browser to read the one-time codes it "sent". It refuses to start unless DEBUG or TESTING is
on, and binds to loopback only.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from loyalty.sms.fake_server import DEFAULT_PORT, FakeSmsGateway


class Command(BaseCommand):
    help = "Serve the fake SMS gateway (ThaiBulkSMS's v2 send API) on loopback."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="A loopback address.")
        parser.add_argument(
            "--port",
            type=int,
            default=settings.FAKE_SMS_PORT or DEFAULT_PORT,
            help=f"Port to listen on (default: FAKE_SMS_PORT, else {DEFAULT_PORT}).",
        )

    def handle(self, *args, host: str, port: int, **options):
        # The gateway accepts the key and secret the app sends, so the two always match.
        server = FakeSmsGateway(
            host=host, port=port, api_key=settings.SMS_API_KEY, api_secret=settings.SMS_API_SECRET
        )
        server.bind()  # refuses outside DEBUG/TESTING; with --port 0 this picks the port
        base = server.base_url
        self.stdout.write(
            self.style.SUCCESS(f"Fake SMS gateway on {base} (Ctrl-C to stop)")
            + f"\n  messages sent   {base}/"
            + f"\n  point the app at it with SMS_BASE_URL={base}\n"
        )
        server.serve_forever()
