"""Code pools: shop-supplied codes of a reward (a Shopee or Lazada voucher, say), added in batches
in the back office (``reward_codes_add``, from a file through ``parse_code_file`` or pasted) and
given out one per redemption (``pool_code_take``, inside ``reward_redeem``). A pool with no free
code left is out of stock, whatever the reward's stock says.
"""

from __future__ import annotations

import csv
import io

from django.db import transaction
from django.utils.translation import gettext as _

from loyalty.errors import InvalidInput
from loyalty.text import REFUSED_MULTILINE, check_text
from rewards.errors import DuplicateCodes, OutOfStock
from rewards.models import Redemption, Reward, RewardCode


def pool_code_take(reward: Reward, redemption: Redemption) -> str:
    """A free code of ``reward``'s pool, now given to ``redemption``, or OutOfStock."""
    # SKIP LOCKED: concurrent redeemers of the same reward each get a different free code
    # instead of queueing on the same row (on SQLite writers are serialised anyway).
    code = (
        RewardCode.objects.select_for_update(skip_locked=True)
        .filter(reward=reward, redemption__isnull=True)
        .order_by("id")
        .first()
    )
    if code is None:
        raise OutOfStock(_("Sorry, all codes of this reward have been given out."))
    RewardCode.objects.filter(pk=code.pk).update(redemption=redemption)
    return code.code


@transaction.atomic
def reward_codes_add(*, reward: Reward, codes: list[str]) -> int:
    """Add shop-supplied codes to a reward's pool. Refuses the whole batch, listing them, when a
    code appears twice in it or is already in the pool."""
    cleaned = [c.strip() for c in codes if c and c.strip()]
    if not cleaned:
        raise InvalidInput(_("No codes found. Put one code per line or per row."))
    for code in cleaned:
        # The code itself says where (its refused character shown as U+FFFD).
        check_text(code, where=REFUSED_MULTILINE.sub("\ufffd", code))
    too_long = [c for c in cleaned if len(c) > 100]
    if too_long:
        raise InvalidInput(
            _("A code is longer than 100 characters: %(code)s") % {"code": too_long[0][:40]}
        )
    seen, twice = set(), []
    for c in cleaned:
        if c in seen:
            twice.append(c)
        seen.add(c)
    Reward.objects.select_for_update(no_key=True).filter(pk=reward.pk).first()
    already = list(
        RewardCode.objects.filter(reward=reward, code__in=seen).values_list("code", flat=True)
    )
    duplicates = sorted(set(twice) | set(already))
    if duplicates:
        shown = ", ".join(duplicates[:10]) + ("…" if len(duplicates) > 10 else "")
        raise DuplicateCodes(
            _("Duplicate codes, nothing was added: %(codes)s") % {"codes": shown},
            extra={"duplicates": duplicates},
        )
    RewardCode.objects.bulk_create(
        RewardCode(shop_id=reward.shop_id, reward=reward, code=c) for c in cleaned
    )
    return len(cleaned)


def parse_code_file(upload) -> list[str]:
    """Codes from an uploaded xlsx (first column of the first sheet) or CSV/text (first column),
    one per row; a header row named "code"/"รหัส" is skipped."""
    name = (getattr(upload, "name", "") or "").lower()
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(upload, read_only=True, data_only=True)
        except Exception:
            raise InvalidInput(_("This file is not a readable .xlsx workbook.")) from None
        codes = []
        for row in workbook.worksheets[0].iter_rows(values_only=True):
            if row and row[0] is not None:
                codes.append(str(row[0]).strip())
        workbook.close()
    elif name.endswith((".csv", ".txt")):
        text = upload.read().decode("utf-8-sig", errors="replace")
        codes = [row[0].strip() for row in csv.reader(io.StringIO(text)) if row and row[0].strip()]
    else:
        raise InvalidInput(_("Upload an .xlsx, .csv or .txt file of codes."))
    if codes and codes[0].lower() in ("code", "codes", "รหัส", "โค้ด"):
        codes = codes[1:]
    return codes
