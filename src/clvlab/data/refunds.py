"""Link refund rows to the purchases they undo, so that RFM nets them (``refund_of``).

A refund row (flag ``is_refund``) is linked, after each load and over the whole stored table,
to the order it undoes; ``refund_of`` then holds that order's identity: ``"o:" + order_id``,
or the ``_key`` of a purchase line without an order id.  Rules (load option ``refunds``):

``net`` (default)
    by order id (a negative line inside its own order), else by customer and product: the
    customer's latest purchase of the same product at or before the refund (UCI Online
    Retail's cancellation invoices ``C536379`` carry the StockCode and the customer).
``order``
    by order id only.
``drop``
    no linking: refunds are stored and flagged but left out of RFM (the customer keeps the
    full purchase).

Refunds that find no purchase stay unlinked (reported); a later load can link them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from clvlab.data.sources import quote_ident

RefundRule = Literal["net", "order", "drop"]
RULES: tuple[str, ...] = ("net", "order", "drop")
#: column of the stored transactions naming the order a refund row is netted against
LINK = "refund_of"
#: prefix of an order's identity in ``refund_of``: ``"o:" + order_id`` (else the line's ``_key``)
ORDER_PREFIX = "o:"
_LINKS = "_clv_refund_links"


@dataclass
class RefundStats:
    """What one linking pass did: refund rows linked, their total (positive) amount, orders
    left with nothing (net <= 0, no longer purchases), refund rows still unlinked."""

    linked: int = 0
    amount: float = 0.0
    cancelled_orders: int = 0
    unlinked: int = 0


def _order_of(alias: str) -> str:
    return (f"CASE WHEN {alias}.order_id IS NOT NULL THEN '{ORDER_PREFIX}' || {alias}.order_id "
            f"ELSE {alias}._key END")


def link_refunds(con: Any, table: str, rule: RefundRule) -> RefundStats:
    """Set ``refund_of`` on the unlinked refund rows of ``table`` by ``rule``; return counts."""
    t = quote_ident(table)
    stats = RefundStats()
    if rule != "drop":
        by_product = "" if rule == "order" else f"""
        UNION ALL
        SELECT r._key, {_order_of('p')} AS target, 2 AS pass, p.ordered_at AS at_
        FROM r JOIN p ON p.customer_id = r.customer_id AND p.product_id = r.product_id
                     AND p.ordered_at <= r.ordered_at"""
        con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {_LINKS} AS
        WITH r AS (SELECT * FROM {t} WHERE is_refund AND {LINK} IS NULL),
        p AS (SELECT * FROM {t} WHERE NOT is_refund)
        SELECT _key, target FROM (
            SELECT r._key, {_order_of('p')} AS target, 1 AS pass, p.ordered_at AS at_
            FROM r JOIN p ON p.customer_id = r.customer_id AND p.order_id = r.order_id
            {by_product}
        ) QUALIFY row_number() OVER (PARTITION BY _key ORDER BY pass, at_ DESC, target DESC) = 1
        """)
        try:
            con.execute(f"UPDATE {t} SET {LINK} = l.target FROM {_LINKS} l "
                        f"WHERE {t}._key = l._key")
            row = con.execute(f"""
            SELECT count(*), coalesce(sum(abs(x.amount)), 0) FROM {t} x
            JOIN {_LINKS} l USING (_key)""").fetchone()
            stats.linked, stats.amount = int(row[0]), float(row[1])
            stats.cancelled_orders = int(con.execute(f"""
            WITH o AS (SELECT DISTINCT target FROM {_LINKS}),
            net AS (SELECT {_order_of('x')} AS target, sum(x.amount) AS s FROM {t} x
                    WHERE NOT x.is_refund GROUP BY ALL),
            back AS (SELECT {LINK} AS target, sum(abs(amount)) AS b FROM {t}
                     WHERE is_refund AND {LINK} IS NOT NULL GROUP BY ALL)
            SELECT count(*) FROM o JOIN net USING (target) JOIN back USING (target)
            WHERE net.s - back.b <= 0""").fetchone()[0])
        finally:
            con.execute(f"DROP TABLE IF EXISTS {_LINKS}")
    stats.unlinked = int(con.execute(
        f"SELECT count(*) FROM {t} WHERE is_refund AND {LINK} IS NULL").fetchone()[0])
    return stats
