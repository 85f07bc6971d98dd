"""Shops (tenants) and everything a shop sets up before it has members, one module per concern:

- ``shop``: the shop and its point and tier policies (``Shop``, ``check_shop_limit``)
- ``setup``: contact channels, branches, tiers, tags, seasonal backgrounds, policy documents
- ``people``: staff users and Open API keys
- ``line``: the shop's LINE Login / Messaging channel settings
- ``uploads``: where uploaded images go (the migrations name these as ``shops.models.<name>``)
- ``shops.staffing.models``: staff invites and the staff audit log

Every shop-owned row carries ``shop``. This package is the app's models module: it imports every
model so Django registers them, and other apps import the models from here. The model modules
import each other by their own paths (``shops.models.shop``), never this package, so there is no
import circle.
"""

from shops.models.line import ShopLineChannel
from shops.models.people import ApiKey, User
from shops.models.setup import (
    Branch,
    ContactChannel,
    PolicyDocument,
    SeasonalBackground,
    Tag,
    Tier,
)
from shops.models.shop import ExpiryMode, Shop, TierCycle, TierWindow, check_shop_limit
from shops.models.uploads import (
    card_upload_to,
    logo_upload_to,
    season_upload_to,
    tier_card_upload_to,
)
from shops.staffing.models import StaffAction, StaffInvite

__all__ = [
    "ApiKey",
    "Branch",
    "ContactChannel",
    "ExpiryMode",
    "PolicyDocument",
    "SeasonalBackground",
    "Shop",
    "ShopLineChannel",
    "StaffAction",
    "StaffInvite",
    "Tag",
    "Tier",
    "TierCycle",
    "TierWindow",
    "User",
    "card_upload_to",
    "check_shop_limit",
    "logo_upload_to",
    "season_upload_to",
    "tier_card_upload_to",
]
