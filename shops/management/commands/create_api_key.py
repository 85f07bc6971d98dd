"""Create an Open API key for a shop and print it, alone, on stdout (for scripts)."""

from django.core.management.base import BaseCommand, CommandError

from shops.apikeys import api_key_create
from shops.models import Shop


class Command(BaseCommand):
    help = "Create an Open API key: prints the new key alone on stdout. It is shown only once."

    def add_arguments(self, parser):
        parser.add_argument("--shop", required=True, help="the shop's slug")
        parser.add_argument("--name", required=True, help="who uses the key, e.g. 'Web shop'")

    def handle(self, *args, shop: str, name: str, **options):
        try:
            shop_obj = Shop.objects.get(slug=shop)
        except Shop.DoesNotExist:
            raise CommandError(f"No shop with slug {shop!r}.") from None
        if not name.strip():
            raise CommandError("Give the key a name.")
        _key, raw = api_key_create(shop=shop_obj, name=name)
        self.stdout.write(raw)
