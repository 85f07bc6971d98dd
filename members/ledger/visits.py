"""What segments ask of a member's purchases, kept ready by the ledger's writes of purchases in
the same transaction, so that a count reads one row per member (or one index) instead of ten
million purchases (bench/segments.py):

- the last visit: the time and branch of the latest completed purchase, on the member row
  (``Member.last_visit_at``, ``Member.last_visit_branch``). An earn makes its purchase the last
  visit (``visit_note``, no query: the member row is saved once with the balance); a reversal and
  a merge read the latest completed purchase again (``visit_refresh``). "Latest" is the order of
  the index ``purchase_member_last``: newest ``created_at``, then highest id.
- what was bought: a ``PurchaseProduct`` row per completed purchase and product key (the upper
  case of each item's SKU and name), written with the purchase's items (``bought_record``),
  removed when the purchase is reversed (``bought_forget``), moved with it in a merge
  (``bought_move``).

Writers in bulk (the demo, the benchmarks' seeds, tests that write purchases directly) set both
for a whole shop at once afterwards (``shop_purchases_refresh``).
"""

from __future__ import annotations

from django.db import connection
from django.db.models import OuterRef, QuerySet, Subquery

from members.ledger.models import Purchase, PurchaseItem, PurchaseProduct
from members.models import Member


def _latest(member_ref) -> QuerySet[Purchase]:
    return Purchase.objects.filter(member_id=member_ref, status=Purchase.Status.COMPLETED).order_by(
        "-created_at", "-pk"
    )


def visit_note(member: Member, purchase: Purchase) -> list[str]:
    """Make a new completed purchase the member's last visit (on the locked member, in memory).
    Returns the member fields to save: none when a later purchase is already recorded."""
    if member.last_visit_at is not None and purchase.created_at < member.last_visit_at:
        return []
    member.last_visit_at = purchase.created_at
    member.last_visit_branch_id = purchase.branch_id
    return ["last_visit_at", "last_visit_branch"]


def visit_refresh(member: Member) -> None:
    """Read the locked member's last visit again from their purchases and save it."""
    latest = _latest(member.pk).values_list("created_at", "branch_id").first()
    member.last_visit_at, member.last_visit_branch_id = latest or (None, None)
    member.save(update_fields=["last_visit_at", "last_visit_branch"])


def visits_refresh(members: QuerySet[Member]) -> int:
    """Set the last visit of many members from their purchases in one UPDATE; returns how many."""
    latest = _latest(OuterRef("pk"))
    return members.update(
        last_visit_at=Subquery(latest.values("created_at")[:1]),
        last_visit_branch_id=Subquery(latest.values("branch_id")[:1]),
    )


def bought_record(*, purchase_id: int | None = None, shop_id: int | None = None) -> None:
    """Write the product keys of one completed purchase (``purchase_id``), or of every completed
    purchase of a shop that has none yet (``shop_id``), in one ``INSERT … SELECT``: the database's
    own UPPER, as the conditions use it, so that both sides agree on every database."""
    where, value = (
        ("i.purchase_id = %s", purchase_id) if purchase_id else ("i.shop_id = %s", shop_id)
    )
    products, items, purchases = (
        connection.ops.quote_name(model._meta.db_table)
        for model in (PurchaseProduct, PurchaseItem, Purchase)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {products} (shop_id, purchase_id, member_id, purchased_at, "key")
            SELECT p.shop_id, p.id, p.member_id, p.created_at, k.product_key
            FROM (
                SELECT i.purchase_id, UPPER(i.sku) AS product_key FROM {items} i
                WHERE {where} AND i.sku <> ''
                UNION
                SELECT i.purchase_id, UPPER(i.name) FROM {items} i WHERE {where}
            ) k
            JOIN {purchases} p ON p.id = k.purchase_id
            WHERE p.status = %s
              AND NOT EXISTS (SELECT 1 FROM {products} x WHERE x.purchase_id = p.id)
            """,  # noqa: S608 - table names from the models, values are parameters
            [value, value, Purchase.Status.COMPLETED],
        )


def bought_forget(purchase_id: int) -> None:
    """A reversed purchase no longer counts as bought."""
    PurchaseProduct.objects.filter(purchase_id=purchase_id).delete()


def bought_move(purchase_ids: list[int], member: Member) -> None:
    """Purchases merged into ``member`` (``merge.ledger_merge``) take their product keys along."""
    PurchaseProduct.objects.filter(purchase_id__in=purchase_ids).update(member=member)


def shop_purchases_refresh(shop_id: int) -> None:
    """After purchases were written or moved in bulk: every member's last visit and every
    purchase's product keys, again, for the shop."""
    visits_refresh(Member.objects.filter(shop_id=shop_id))
    PurchaseProduct.objects.filter(shop_id=shop_id).delete()
    bought_record(shop_id=shop_id)
