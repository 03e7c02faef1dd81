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
number     DOUBLE           as decimal (scores, ratings)
text       VARCHAR          free text: cleaned and PII-masked in the staged source
                            (:func:`clvlab.text.clean.mask_pii`) before anything is
                            parsed, stored or written to a rejects file
category   VARCHAR          trimmed, lower case, spellings folded by :attr:`Column.values`
json       VARCHAR          a JSON object, stored compact (``{"page":"/home"}``); text that
                            is not valid JSON, or JSON that is not an object, is rejected
========== ================ ==========================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["id", "string", "timestamp", "decimal", "integer", "number", "text", "category", "json"]

SQL_TYPES: dict[str, str] = {
    "id": "VARCHAR",
    "string": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "decimal": "DECIMAL(18,4)",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "text": "VARCHAR",
    "category": "VARCHAR",
    "json": "VARCHAR",
}


@dataclass(frozen=True)
class Column:
    """One canonical column: its name, kind, whether it is required and common source spellings.

    ``aliases`` are compared after :func:`normalise_name` (case, spaces, dashes and underscores
    ignored), so ``InvoiceDate`` matches the alias ``invoice_date``.  ``values`` (category
    columns) maps each canonical value to other spellings of it (compared lower-cased).
    """

    name: str
    kind: Kind
    required: bool = False
    aliases: tuple[str, ...] = ()
    description: str = ""
    values: dict[str, tuple[str, ...]] = field(default_factory=dict)


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
    source is rejected instead of numbered; with ``merge_identical`` too, a repeat identical to
    an earlier row in every source column is stored once (counted as a merged duplicate) and only
    a repeat with different content is rejected.  With ``update``, a row whose key is already
    stored but whose values differ updates the stored row (a customer changed store or tier, an
    order was re-exported with a corrected amount, a survey answer was re-sent with a new
    score): only the columns the source has, and an empty cell never erases a stored value.
    ``fallback`` is the key used when the source lacks one of ``columns`` (events: their
    ``event_id`` when given, else customer, time and event); with ``merge_identical`` the
    occurrence number counts distinct rows only, so a re-export without an exact repeat keeps
    its keys.
    """

    columns: tuple[str, ...]
    line: str | None = None
    unique: bool = False
    merge_identical: bool = False
    update: bool = False
    fallback: Key | None = None


@dataclass(frozen=True)
class Scale:
    """Allowed range of a value column per category: ``value`` must lie in
    ``ranges[category]`` (inclusive), where the category is in column ``by``; categories
    without a range are rejected.  ``whole`` lists categories whose values must be integers.
    The load option ``scales`` ({category: [low, high]}) adds or overrides ranges.
    """

    by: str
    value: str
    ranges: dict[str, tuple[float, float]]
    whole: tuple[str, ...] = ()


@dataclass(frozen=True)
class Wide:
    """Wide sources: mapping keys ``"<value>:<category>"`` (e.g. ``"score:nps"``) name one
    source column per category; each source row becomes one row per category with a value,
    ``<value>`` holding it and ``<by>`` the category, and the key columns get ``":<category>"``
    appended (response ``R7`` becomes ``R7:nps`` and ``R7:csat``).  A row with no value at all
    is kept once (and rejected for its missing value)."""

    value: str
    by: str


@dataclass(frozen=True)
class TableContract:
    """A stored table: its canonical columns, derived columns, key and boolean flags.

    ``flags`` maps a stored BOOLEAN column to a SQL condition over the parsed canonical columns
    (missing optional columns are NULL there); ``flags_doc`` says in words what it flags.
    ``scale`` checks a value's range by category, ``wide`` allows one source column per
    category, and ``mask_unmapped`` masks personal data in the source columns the table does
    not use too (they appear in the rejects file).  ``links`` are stored VARCHAR columns set
    after each load over the whole table (transactions: ``refund_of``, see
    :mod:`clvlab.data.refunds`).
    """

    name: str
    columns: tuple[Column, ...]
    key: Key
    derivations: tuple[Derivation, ...] = ()
    flags: dict[str, str] = field(default_factory=dict)
    flags_doc: dict[str, str] = field(default_factory=dict)
    description: str = ""
    scale: Scale | None = None
    wide: Wide | None = None
    mask_unmapped: bool = False
    links: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        """Canonical column names in stored order."""
        return [c.name for c in self.columns]

    def key_for(self, mapped: Iterable[str]) -> Key:
        """The key of a source mapping ``mapped`` columns: :attr:`key`, or its ``fallback``
        when the source lacks one of the key's columns."""
        have = set(mapped)
        key = self.key
        if key.fallback is not None and not all(c in have for c in key.columns):
            return key.fallback
        return key

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
        cols += [(c, "VARCHAR") for c in self.links]
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
        Column("product_id", "id", False, ("product", "sku", "stock_code", "item_id", "product_code", "upc",
                                            "article_id")),
        Column("category", "string", False, ("product_category", "category_name", "item_category")),
        Column("store_id", "id", False, ("store", "shop_id", "branch_id")),
        Column("channel", "string", False, ("sales_channel",)),
        Column("currency", "string", False, ("currency_code",)),
    ),
    derivations=(
        Derivation("amount", ("quantity", "unit_price"), "quantity * unit_price"),
    ),
    key=Key(columns=("order_id",), line="line", update=True),
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
    links=("refund_of",),
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
        Column("service_cost", "decimal", False,
               ("retention_cost", "cost_to_serve", "serving_cost", "loyalty_cost")),
    ),
    key=Key(columns=("customer_id",), unique=True, update=True),
)

FEEDBACK = TableContract(
    name="feedback",
    description=(
        "One row per survey answer (NPS, CSAT, CES, ...): who answered, when, the score and the "
        "comment (cleaned, personal data masked before it is stored)."
    ),
    columns=(
        Column("response_id", "id", True,
               ("response", "responseid", "answer_id", "feedback_id", "id", "回复id", "答卷id",
                "问卷编号", "编号")),
        Column("responded_at", "timestamp", True,
               ("date", "submitted_at", "created_at", "timestamp", "datetime", "response_date",
                "answered_at", "日期", "时间", "提交时间", "填写时间", "回复时间")),
        Column("metric", "category", True,
               ("survey_type", "question_type", "metric_name", "kpi", "指标", "类型"),
               values={
                   "nps": ("net promoter score", "net_promoter_score", "推荐", "推荐度",
                           "净推荐值"),
                   "csat": ("customer satisfaction", "satisfaction", "满意度", "满意"),
                   "ces": ("customer effort score", "effort", "费力度", "费力", "客户费力度"),
               }),
        Column("score", "number", True,
               ("rating", "value", "评分", "分数", "得分", "打分")),
        Column("customer_id", "id", False,
               ("customer", "customerid", "cust_id", "client_id", "user_id", "member_id",
                "客户id", "会员id", "用户id", "客户编号", "会员号")),
        Column("comment", "text", False,
               ("comments", "feedback", "verbatim", "text", "remark", "remarks", "review",
                "评论", "评价", "留言", "意见", "备注", "反馈")),
        Column("channel", "category", False, ("source", "survey_channel", "渠道")),
        Column("touchpoint", "category", False,
               ("touch_point", "journey_step", "触点", "环节")),
        Column("store_id", "id", False, ("store", "shop_id", "branch_id", "门店", "门店id",
                                         "店铺", "店铺id")),
        Column("product_id", "id", False, ("product", "sku", "item_id", "商品", "商品id")),
        Column("survey_id", "id", False, ("survey", "questionnaire", "问卷", "问卷id")),
    ),
    key=Key(columns=("response_id",), unique=True, merge_identical=True, update=True),
    scale=Scale(by="metric", value="score",
                ranges={"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}, whole=("nps",)),
    wide=Wide(value="score", by="metric"),
    mask_unmapped=True,
)

MARKETING_SPEND = TableContract(
    name="marketing_spend",
    description=(
        "One row per acquisition channel and period: what was spent to win customers (and, "
        "optionally, how many new customers the channel reports). Feeds CAC, LTV:CAC and payback "
        "(:func:`clvlab.unit_economics`). A negative cost (a credit) is allowed on a row; a "
        "channel's total for a period must not be negative."
    ),
    columns=(
        Column("period", "timestamp", True,
               ("month", "date", "week", "quarter", "period_start", "spend_date", "day")),
        Column("channel", "string", True,
               ("acquisition_channel", "source", "utm_source", "medium", "campaign_channel")),
        Column("cost", "decimal", True, ("spend", "amount", "marketing_cost", "budget_spent")),
        Column("new_customers", "integer", False,
               ("acquisitions", "new_customer_count", "customers_acquired", "conversions")),
    ),
    key=Key(columns=("period", "channel"), unique=True, update=True),
)

EVENTS = TableContract(
    name="events",
    description=(
        "One row per behavioural event (site visit, product view, cart add, newsletter signup, "
        "...): who, when, what, an optional value and JSON properties. Feeds prospects and the "
        "lead score (:func:`clvlab.lead_scores`). Key: ``event_id`` when the source has one (a "
        "repeat with other content is rejected), else customer, time and event numbered by "
        "occurrence among distinct rows; an exact repeat of a row is stored once (a tracker's "
        "retry), a changed value or properties under a stored key updates it."
    ),
    columns=(
        Column("customer_id", "id", True,
               ("customer", "customerid", "cust_id", "client_id", "user_id", "visitor_id",
                "anonymous_id", "member_id")),
        Column("occurred_at", "timestamp", True,
               ("timestamp", "time", "datetime", "date", "event_time", "event_date", "created_at",
                "ts", "occurred")),
        Column("event", "category", True,
               ("event_name", "event_type", "action", "type")),
        Column("value", "decimal", False, ("amount", "event_value", "revenue")),
        Column("properties", "json", False, ("props", "attributes", "payload", "data", "context")),
        Column("event_id", "id", False, ("eventid", "message_id", "id")),
    ),
    key=Key(columns=("event_id",), unique=True, merge_identical=True, update=True,
            fallback=Key(columns=("customer_id", "occurred_at", "event"), merge_identical=True,
                         update=True)),
)

EXPERIMENTS = TableContract(
    name="experiments",
    description=(
        "One row per customer and experiment: the arm the customer was assigned to, when, and the "
        "stratum randomised within. Written by :func:`clvlab.assign`, or loaded from an outside "
        "tool; analysed by :func:`clvlab.analyze_experiment` (arm 'control' and one or more others, "
        "e.g. 'treatment', or 'email' and 'sms')."
    ),
    columns=(
        Column("experiment_id", "id", True, ("experiment", "test_id", "campaign_id", "campaign")),
        Column("customer_id", "id", True, ("customer", "customerid", "cust_id", "client_id", "user_id")),
        Column("arm", "category", True, ("group", "variant", "variation", "cell", "test_group"),
               values={"control": ("c", "ctrl", "control group", "holdout", "untreated"),
                       "treatment": ("t", "treated", "test", "treatment group", "variant")}),
        Column("assigned_at", "timestamp", True,
               ("assigned", "assignment_date", "date", "start_date", "enrolled_at", "exposed_at")),
        Column("stratum", "string", False, ("strata", "block", "segment", "stage")),
    ),
    key=Key(columns=("experiment_id", "customer_id"), unique=True, merge_identical=True),
)

#: every table the loader knows, by stored name
CONTRACTS: dict[str, TableContract] = {
    c.name: c for c in (TRANSACTIONS, CUSTOMERS, FEEDBACK, MARKETING_SPEND, EVENTS, EXPERIMENTS)
}
