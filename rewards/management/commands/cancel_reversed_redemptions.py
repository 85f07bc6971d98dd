"""Find, and with --commit cancel, redemptions whose points were reversed on their own.

    python manage.py cancel_reversed_redemptions [--shop SLUG] [--commit]

Before the ledger refused it, reversing a redemption's points entry (Open API, back office) gave
the points back and left the redemption completed: the coupon usable, the delivery open, the
stock and the member's limit taken. This lists such redemptions and, with ``--commit``, cancels
each through ``rewards.services.redemption_cancel`` (the points are not returned a second time).
A redemption whose coupon was used or whose gift was shipped or delivered cannot be cancelled: it
is listed as refused, for the shop to settle with the member. Running it twice is harmless.
Exit status: 0 nothing left to do; 1 some were found (without ``--commit``) or refused.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from loyalty.errors import ApplicationError
from members.ledger.actors import Actor
from rewards.selectors import redemptions_with_reversed_points
from rewards.services import redemption_cancel
from shops.models import Shop


class Command(BaseCommand):
    help = "List, and with --commit cancel, redemptions whose points were reversed on their own."

    def add_arguments(self, parser):
        parser.add_argument("--shop", help="only this shop (its slug)")
        parser.add_argument("--commit", action="store_true", help="cancel them")

    def handle(self, *args, **options):
        shop_id = None
        if options["shop"]:
            shop = Shop.objects.filter(slug=options["shop"]).first()
            if shop is None:
                raise CommandError(f"no shop with the slug {options['shop']!r}")
            shop_id = shop.pk
        found = list(redemptions_with_reversed_points(shop_id))
        refused = 0
        for redemption in found:
            line = (
                f"{redemption.shop.slug} {redemption.public_id} “{redemption.reward_name}” "
                f"member {redemption.member.public_id}"
            )
            if not options["commit"]:
                self.stdout.write(f"found     {line}")
                continue
            try:
                redemption_cancel(
                    redemption=redemption,
                    note=_("Cancelled: its points had already been reversed on their own"),
                    actor=Actor.system(),
                )
            except ApplicationError as exc:
                refused += 1
                self.stdout.write(f"refused   {line}: {exc}")
            else:
                self.stdout.write(f"cancelled {line}")
        self.stdout.write(
            f"{len(found)} redemption(s) with reversed points"
            + (
                f", {len(found) - refused} cancelled, {refused} refused"
                if options["commit"]
                else ""
            )
        )
        if refused or (found and not options["commit"]):
            raise SystemExit(1)
