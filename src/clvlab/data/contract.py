"""The data contract: every input table clvlab reads, described once, declaratively.

Loading (:mod:`clvlab.data.load`) is one general mechanism driven by these descriptions: it maps
source columns to canonical names, parses each column by its :attr:`Column.kind`, rejects rows
whose values do not parse, derives columns (``amount = quantity * unit_price``), computes flags
(``is_refund``) and the row key, then inserts into the stored table.  Adding a table (feedback,
events, marketing_spend, experiments) means adding one :class:`TableContract` to
:data:`CONTRACTS`, not new loading code.

Kinds and their stored types:

========== ================ ==========================================================
kind       stored type      parsing
========== ================ ==========================================================
id         VARCHAR          trimmed; empty/"nan"/"NULL" are missing; "17850.0" -> "17850"
string     VARCHAR          trimmed; empty is missing
timestamp  TIMESTAMP        explicit or inferred format; offsets converted to the business
                            time zone, then stored naive
decimal    DECIMAL(18,4)    "." or "," decimal mark, thousands separators, currency signs
integer    BIGINT           as decimal, must be whole
========== ================ ==========================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["id", "string", "timestamp", "decimal", "integer"]

SQL_TYPES: dict[str, str] = {
    "id": "VARCHAR",
    "string": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "decimal": "DECIMAL(18,4)",
    "integer": "BIGINT",
}


@dataclass(frozen=True)
class Column:
    """One canonical column: its name, kind, whether it is required and common source spellings.

    ``aliases`` are compared after :func:`normalise_name` (case, spaces, dashes and underscores
    ignored), so ``InvoiceDate`` matches the alias ``invoice_date``.
    """

    name: str
    kind: Kind
    required: bool = False
    aliases: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Derivation:
    """A required column computed from others when the source lacks it (SQL over parsed names)."""

    target: str
    inputs: tuple[str, ...]
    sql: str


@dataclass(frozen=True)
class Key:
    """How a row's key (``_key``) is built, so that re-loading the same data inserts nothing.

    The key is the values of ``columns``; ``line`` (if set) is a column numbering rows within
    the same ``columns`` values, filled with the row's occurrence number in file order when the
    source has none.  Without ``columns`` in the source the key is a hash of the row's content
    plus its occurrence number among identical rows.  With ``unique`` a repeated key in one
    source is rejected instead of numbered.
    """

    columns: tuple[str, ...]
    line: str | None = None
    unique: bool = False


@dataclass(frozen=True)
class TableContract:
    """A stored table: its canonical columns, derived columns, key and boolean flags.

    ``flags`` maps a stored BOOLEAN column to a SQL condition over the parsed canonical columns
    (missing optional columns are NULL there); ``flags_doc`` says in words what it flags.
    """

    name: str
    columns: tuple[Column, ...]
    key: Key
    derivations: tuple[Derivation, ...] = ()
    flags: dict[str, str] = field(default_factory=dict)
    flags_doc: dict[str, str] = field(default_factory=dict)
    description: str = ""

    @property
    def names(self) -> list[str]:
        """Canonical column names in stored order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        msg = f"table '{self.name}' has no column '{name}'"
        raise KeyError(msg)

    @property
    def required(self) -> list[str]:
        """Names of the required columns."""
        return [c.name for c in self.columns if c.required]

    def stored_schema(self) -> list[tuple[str, str]]:
        """``(name, SQL type)`` of every stored column, bookkeeping columns last."""
        cols = [(c.name, SQL_TYPES[c.kind]) for c in self.columns]
        cols += [(f, "BOOLEAN") for f in self.flags]
        cols += [("_key", "VARCHAR"), ("_source", "VARCHAR"), ("_loaded_at", "TIMESTAMP")]
        return cols


def normalise_name(name: str) -> str:
    """Lower-case ``name`` without spaces, dashes, dots and underscores (for matching only)."""
    return re.sub(r"[\s_\-\.]+", "", name.strip().lstrip("\ufeff")).lower()


TRANSACTIONS = TableContract(
    name="transactions",
    description="One row per order line (or per order): who bought, when, for how much.",
    columns=(
        Column("customer_id", "id", True,
               ("customer", "customerid", "cust_id", "client_id", "user_id", "buyer_id")),
        Column("ordered_at", "timestamp", True,
               ("date", "order_date", "invoice_date", "ordered", "purchase_date",
                "transaction_date", "timestamp", "datetime", "created_at")),
        Column("amount", "decimal", True,
               ("dollar_value", "total", "order_total", "revenue", "sales", "line_total",
                "net_amount", "value")),
        Column("order_id", "id", False,
               ("order", "order_no", "order_number", "invoice", "invoice_no", "invoice_id",
                "transaction_id")),
        Column("line", "integer", False, ("line_no", "line_number", "order_line")),
        Column("margin", "decimal", False, ("profit", "gross_margin")),
        Column("cost", "decimal", False, ("cogs", "unit_cost_total")),
        Column("quantity", "decimal", False, ("qty", "units", "number_of_cds", "cds")),
        Column("unit_price", "decimal", False, ("price", "unitprice", "price_each")),
        Column("product_id", "id", False, ("product", "sku", "stock_code", "item_id")),
        Column("category", "string", False, ("product_category",)),
        Column("store_id", "id", False, ("store", "shop_id", "branch_id")),
        Column("channel", "string", False, ("sales_channel",)),
        Column("currency", "string", False, ("currency_code",)),
    ),
    derivations=(
        Derivation("amount", ("quantity", "unit_price"), "quantity * unit_price"),
    ),
    key=Key(columns=("order_id",), line="line"),
    flags={
        "is_refund": (
            "coalesce(amount < 0, false) OR coalesce(quantity < 0, false)"
            " OR coalesce(regexp_full_match(order_id, 'C[0-9]+'), false)"
        ),
    },
    flags_doc={
        "is_refund": "negative amount or quantity, or a cancelled invoice (order id 'C' + digits, "
        "as in UCI Online Retail)",
    },
)

CUSTOMERS = TableContract(
    name="customers",
    description="One row per customer: acquisition and descriptive attributes.",
    columns=(
        Column("customer_id", "id", True,
               ("customer", "customerid", "cust_id", "client_id", "user_id")),
        Column("first_seen_at", "timestamp", False,
               ("first_seen", "signup_date", "created_at", "registered_at", "acquired_at")),
        Column("acquisition_channel", "string", False, ("channel", "source", "utm_source")),
        Column("acquisition_cost", "decimal", False, ("cac",)),
        Column("store_id", "id", False, ("store", "shop_id", "branch_id")),
        Column("region", "string", False, ("country", "state", "area")),
        Column("tier", "string", False, ("segment", "level", "membership")),
    ),
    key=Key(columns=("customer_id",), unique=True),
)

#: every table the loader knows, by stored name
CONTRACTS: dict[str, TableContract] = {c.name: c for c in (TRANSACTIONS, CUSTOMERS)}
