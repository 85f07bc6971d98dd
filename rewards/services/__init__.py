"""Every write of rewards, by concern: redemptions, their cancellation, coupons, gifts (coupons the
shop gives free, e.g. a broadcast's coupon push), deliveries, spot codes (redeeming at the counter)
and code pools. This package is the public API that views, the
admin, tasks, the Open API, other apps and tests import; the modules behind it are its rooms
(``docs/_arch/rewards.md`` says which holds which rule). The cashier's side of these in the staff
app is ``rewards.staff.services``; the rules they share with the member's pages are
``rewards.rules``; the refusals are ``rewards.errors``.

Lock order, in every service: Shop → Member → Reward (``members.ledger.locks``); a coupon, spot
code or delivery locked by the staff app comes before the member.
"""

from rewards.services.cancellations import redemption_cancel
from rewards.services.code_pools import parse_code_file, reward_codes_add
from rewards.services.coupons import (
    coupon_find,
    coupon_state_error,
    coupon_use,
    coupons_expire_due,
)
from rewards.services.deliveries import (
    DELIVERY_NEXT,
    Address,
    clean_address,
    delivery_set_status,
)
from rewards.services.gifts import Gifts, coupons_gift
from rewards.services.redemptions import reward_redeem
from rewards.services.spot_codes import (
    spot_code_confirm,
    spot_code_confirm_with_key,
    spot_code_find,
    spot_code_issue,
    spot_code_refusal,
)

__all__ = [
    "DELIVERY_NEXT",
    "Address",
    "Gifts",
    "clean_address",
    "coupon_find",
    "coupon_state_error",
    "coupon_use",
    "coupons_expire_due",
    "coupons_gift",
    "delivery_set_status",
    "parse_code_file",
    "redemption_cancel",
    "reward_codes_add",
    "reward_redeem",
    "spot_code_confirm",
    "spot_code_confirm_with_key",
    "spot_code_find",
    "spot_code_issue",
    "spot_code_refusal",
]
