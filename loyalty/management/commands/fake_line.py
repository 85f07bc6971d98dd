"""Run the fake LINE platform in the foreground, with the demo channel registered.

``make run`` starts it beside the web server; run it alone to poke at LINE Login or the Messaging
API by hand. It refuses to start unless DEBUG or TESTING is on, and binds to loopback only.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand

from loyalty.line.fake import (
    DEMO_ACCESS_TOKEN,
    DEMO_CHANNEL_ID,
    DEMO_CHANNEL_SECRET,
    DEMO_GOLD_USER,
    DEMO_MEMBER_USER,
    FakeLineServer,
)

DEFAULT_PORT = 8765


class Command(BaseCommand):
    help = "Serve the fake LINE platform (LINE Login + Messaging API) on loopback."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="A loopback address.")
        parser.add_argument(
            "--port",
            type=int,
            default=settings.FAKE_LINE_PORT or DEFAULT_PORT,
            help="Port to listen on (default: FAKE_LINE_PORT, else 8765).",
        )
        parser.add_argument(
            "--channel-id", default=os.environ.get("FAKE_LINE_CHANNEL_ID", DEMO_CHANNEL_ID)
        )
        parser.add_argument(
            "--channel-secret",
            default=os.environ.get("FAKE_LINE_CHANNEL_SECRET", DEMO_CHANNEL_SECRET),
        )
        parser.add_argument(
            "--access-token", default=os.environ.get("FAKE_LINE_ACCESS_TOKEN", DEMO_ACCESS_TOKEN)
        )
        parser.add_argument(
            "--webhook-url",
            default=os.environ.get("FAKE_LINE_WEBHOOK_URL", ""),
            help="The shop's webhook URL: where the chat pages post follow, block and messages.",
        )
        parser.add_argument(
            "--oa-name",
            default=os.environ.get("FAKE_LINE_OA_NAME", ""),
            help="The Official Account's name, shown at the top of the chat pages.",
        )

    def handle(self, *args, host: str, port: int, **options):
        server = FakeLineServer(host=host, port=port)
        server.add_channel(
            channel_id=options["channel_id"],
            channel_secret=options["channel_secret"],
            access_token=options["access_token"],
            webhook_url=options["webhook_url"],
            name=options["oa_name"],
        )
        server.add_user(**DEMO_MEMBER_USER)
        server.add_user(**DEMO_GOLD_USER)
        server.bind()  # refuses outside DEBUG/TESTING; with --port 0 this picks the port
        base = server.base_url
        self.stdout.write(
            self.style.SUCCESS(f"Fake LINE platform on {base} (Ctrl-C to stop)")
            + f"\n  channel id      {options['channel_id']}"
            + f"\n  test users      {base}/ (each links to their chat with the OA)"
            + f"\n  webhook URL     {options['webhook_url'] or '(none: chat actions go nowhere)'}"
            + f"\n  point the app at it with LINE_API_BASE_URL={base} "
            f"LINE_API_DATA_BASE_URL={base} LINE_ACCESS_BASE_URL={base}\n"
        )
        server.serve_forever()
