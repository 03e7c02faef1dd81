"""Cross-sell recommendations from the transaction log: item-item co-occurrence with lift and decay.

Everything up to the per-customer lists runs in the workspace's engine (Ibis: DuckDB, PostgreSQL);
only item pairs, one customer's list or one row per evaluated customer come into Python.

An **item** is a ``product_id`` (``level="product"``) or a ``category`` of the transactions;
refund rows and rows without the item are left out. For each customer c and item i bought before
``as_of``, the weight

    w(c, i) = 2 ** (-(as_of - last purchase of i by c) / half_life)   (1 without a half-life)

says how recent the interest is. Over the N customers with an item:

* N(i) = sum_c w(c, i), the (decayed) number of buyers of i;
* N(a, b) = sum_c w(c, a) w(c, b), the (decayed) number of customers who bought both;
* confidence(a -> b) = N(a, b) / N(a), the share of a's buyers who bought b;
* lift(a, b) = N(a, b) N / (N(a) N(b)): how many times more often b goes with a than with a
  random customer; 1 is no association (Brin, Motwani, Ullman and Tsur 1997, "interest").

Pairs bought together by fewer than ``min_support`` customers (undecayed count) are dropped.

A customer's **recommendations** are the items the customer has not bought, ranked by
score(b) = sum over the customer's items a of w(c, a) x confidence(a -> b) (item-based
collaborative filtering, Sarwar et al. 2001, with confidence as the similarity), each shown with
the item ``because`` of which it is recommended most and that pair's lift. When fewer than k
items score, the list is filled with the most popular items (highest N(i)) not yet bought: the
**popularity baseline**, which is also what the evaluation compares against.

The **evaluation** (:func:`evaluate_recommendations`) splits the log in time: the model and the
baseline learn from the purchases before ``split`` (decay measured to ``split``); customers who
bought before it and then bought items new to them from ``split`` on are evaluated on those new
items: precision@k = hits / k, recall@k = hits / new items, averaged over customers.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Literal

import ibis
import pandas as pd

from clvlab import stats
from clvlab.errors import DataValidationError, Hint, check_param

WHERE = "recommend"
Level = Literal["product", "category"]
COLUMN = {"product": "product_id", "category": "category"}
PLURAL = {"product": "products", "category": "categories"}


def _check(level: str, half_life_days: float | None, min_support: int, k: int | None = None) -> str:
    check_param(level in COLUMN, "level", WHERE, "'product' or 'category'", level)
    ok = half_life_days is None or (isinstance(half_life_days, float | int) and half_life_days > 0)
    check_param(ok, "half_life_days", WHERE, "a number of days > 0 or None", half_life_days)
    check_param(isinstance(min_support, int) and min_support >= 1, "min_support", WHERE, "an int >= 1", min_support)
    if k is not None:
        check_param(isinstance(k, int) and not isinstance(k, bool) and k >= 1, "k", WHERE, "an int >= 1", k)
    return COLUMN[level]


def _log(ws: Any, column: str) -> Any:
    """Purchase rows (no refunds) that name an item, as ``customer_id, item, ordered_at``."""
    if "transactions" not in ws.tables():
        msg = f"{WHERE}: the workspace has no transactions"
        raise DataValidationError(msg, hint="load them first (clvlab load transactions FILE)")
    tx = ws.table("transactions")
    t = tx.filter(tx[column].notnull(), ~tx.is_refund.fill_null(False))
    if int(t.count().execute()) == 0:
        other = "category" if column == "product_id" else "product"
        has_other = bool(tx[COLUMN[other]].notnull().any().execute())
        msg = (f"{WHERE}: no transaction names a {column} (CDNOW, for one, has none): there is nothing to "
               "recommend from")
        hints = [Hint("load an order-line log with a product_id (aliases: sku, stock_code, item_id) or category")]
        if has_other:
            hints.insert(0, Hint(option="level", value=other))
        raise DataValidationError(msg, hint=hints)
    return t.select("customer_id", item=t[column].cast("string"), ordered_at=t.ordered_at)


def _bought(log: Any, as_of: dt.datetime, half_life_days: float | None) -> Any:
    """One row per customer and item bought before ``as_of``: ``customer_id, item, w``."""
    t = log.filter(log.ordered_at < as_of)
    g = t.group_by("customer_id", "item").aggregate(last=t.ordered_at.max())
    if half_life_days is None:
        return g.select("customer_id", "item", w=ibis.literal(1.0))
    days = (ibis.literal(as_of).epoch_seconds() - g["last"].epoch_seconds()).cast("float64") / 86400.0
    return g.select("customer_id", "item", w=(days * (-math.log(2) / float(half_life_days))).exp())


def _keep(t: Any, other: Any, keys: list[str], *, present: bool) -> Any:
    """Rows of ``t`` whose ``keys`` are (``present``) or are not in ``other``: a semi or anti join
    written as a left join on the distinct keys, which every backend compiles (PostgreSQL has no
    SEMI JOIN)."""
    o = other.select(*keys).distinct().mutate(_found=ibis.literal(True))
    j = t.left_join(o, keys)
    return j.filter(j._found.notnull() if present else j._found.isnull()).select(*t.columns)


def _semi(t: Any, other: Any, keys: str | list[str]) -> Any:
    return _keep(t, other, [keys] if isinstance(keys, str) else keys, present=True)


def _anti(t: Any, other: Any, keys: str | list[str]) -> Any:
    return _keep(t, other, [keys] if isinstance(keys, str) else keys, present=False)


@dataclass
class Model:
    """Co-occurrence statistics of one log (Ibis expressions in the workspace's engine)."""

    bought: Any  # customer_id, item, w
    items: Any  # item, n_item (decayed buyers), buyers, pop_rank
    pairs: Any  # a, b, n_both (decayed), support, confidence, lift
    customers: int


def _model(
    log: Any, as_of: dt.datetime, half_life_days: float | None, min_support: int, antecedents: Any = None
) -> Model:
    """The statistics; ``antecedents`` (a table of ``item``) limits the pairs to those whose first
    item is one of them (one customer's or one product's pairs: the rest is never computed)."""
    bought = _bought(log, as_of, half_life_days)
    items = bought.group_by("item").aggregate(n_item=bought.w.sum(), buyers=bought.count())
    items = items.mutate(pop_rank=ibis.row_number().over(order_by=[ibis.desc(items.n_item), items.item]) + 1)
    n = int(bought.customer_id.nunique().execute())
    frequent = items.filter(items.buyers >= min_support).select("item")
    kept = _semi(bought, frequent, "item")
    first = kept if antecedents is None else _semi(kept, antecedents, "item")
    left = first.select("customer_id", a=first.item, wa=first.w)
    right = kept.select(cid="customer_id", b=kept.item, wb=kept.w)
    j = left.join(right, left.customer_id == right.cid).filter(lambda r: r.a != r.b)
    co = j.group_by("a", "b").aggregate(n_both=(j.wa * j.wb).sum(), support=j.count())
    co = co.filter(co.support >= min_support)
    na = items.select(a=items.item, n_a=items.n_item)
    nb = items.select(b=items.item, n_b=items.n_item)
    pairs = co.join(na, "a").join(nb, "b")
    pairs = pairs.select("a", "b", "n_both", "support", confidence=pairs.n_both / pairs.n_a,
                         lift=pairs.n_both * float(n) / (pairs.n_a * pairs.n_b))
    return Model(bought, items, pairs, n)


def _as_of(log: Any, as_of: Any) -> dt.datetime:
    if as_of is not None:
        return pd.Timestamp(as_of).to_pydatetime()
    last = pd.Timestamp(log.ordered_at.max().execute())
    return (last.normalize() + pd.Timedelta(days=1)).to_pydatetime()


def _top_k(model: Model, who: Any, k: int) -> Any:
    """Top-k items per customer in ``who`` (customer_id): co-occurrence first, then popularity."""
    mine = _semi(model.bought, who, "customer_id")
    j = mine.join(model.pairs, mine.item == model.pairs.a)
    contribution = j.w * j.confidence
    scored = j.group_by("customer_id", item=j.b).aggregate(
        score=contribution.sum(), because=j.a.argmax(contribution), lift=j.lift.argmax(contribution))
    scored = _anti(scored, mine, ["customer_id", "item"])
    pop = _popular(model, who, k)
    cand = (scored.select("customer_id", "item", "score", "because", "lift", source=ibis.literal("co-occurrence"),
                          key=ibis.literal(0.0) - scored.score)
            .union(pop.select("customer_id", "item", score=ibis.null("float64"), because=ibis.null("string"),
                              lift=ibis.null("float64"), source=ibis.literal("popularity"),
                              key=pop.pop_rank.cast("float64"))))
    order = cand.source != "co-occurrence"
    ranked = cand.mutate(rank=ibis.row_number().over(group_by="customer_id", order_by=[order, cand.key, cand.item]))
    first = ranked.group_by("customer_id", "item").aggregate(rank=ranked["rank"].min())
    best = _semi(ranked, first, ["customer_id", "item", "rank"])
    final = best.mutate(rank=ibis.row_number().over(group_by="customer_id", order_by=best["rank"]) + 1)
    return final.filter(final["rank"] <= k)


def recommend_items(
    ws: Any, *, customer: str | None = None, product: str | None = None, k: int = 10, level: Level = "product",
    half_life_days: float | None = None, min_support: int = 3, as_of: Any = None,
) -> pd.DataFrame:
    """Cross-sell items for one ``customer``, or the items bought with one ``product``.

    Customer: ``rank, item, score, because, lift, source`` (``source`` is ``co-occurrence`` or
    ``popularity`` for the fill). Product: ``item, lift, confidence, support`` sorted by lift (then support),
    the items bought with it by at least ``min_support`` customers. See the module docstring.
    """
    column = _check(level, half_life_days, min_support, k)
    if (customer is None) == (product is None):
        check_param(False, "customer", WHERE, "given, or product given (exactly one of the two)", customer)
    log = _log(ws, column)
    when = _as_of(log, as_of)
    if product is not None:
        antecedents = ibis.memtable(pd.DataFrame({"item": [str(product)]}))
    else:
        antecedents = log.filter(log.customer_id == str(customer)).select("item").distinct()
    model = _model(log, when, half_life_days, min_support, antecedents)
    if product is not None:
        p = model.pairs
        rows = p.filter(p.a == str(product)).order_by([ibis.desc(p.lift), ibis.desc(p.support), p.b]).limit(k)
        frame = rows.select(item=rows.b, lift=rows.lift, confidence=rows.confidence, support=rows.support).execute()
        if frame.empty and int(model.items.filter(model.items.item == str(product)).count().execute()) == 0:
            top = model.items.order_by("pop_rank").limit(3).execute()["item"].tolist()
            msg = f"{WHERE}: nobody bought {level} '{product}' before {when:%Y-%m-%d}"
            raise DataValidationError(msg, hint=Hint(option="product", value=top[0] if top else None,
                                                     text=f"popular: {', '.join(map(str, top))}"))
        frame.attrs.update(product=str(product), customers=model.customers, as_of=when)
        return frame
    who = ibis.memtable(pd.DataFrame({"customer_id": [str(customer)]}))
    known = int(ws.table("transactions").filter(ibis._.customer_id == str(customer)).count().execute())
    if not known:
        msg = f"{WHERE}: customer '{customer}' has no transactions"
        raise DataValidationError(msg, hint="check the id (clvlab customers are the transactions' customer_id)")
    frame = _top_k(model, who, k).order_by("rank").select("rank", "item", "score", "because", "lift", "source")
    out = frame.execute()
    out.attrs.update(customer=str(customer), customers=model.customers, as_of=when)
    return out


def top_items(
    ws: Any, customers: pd.Series, *, level: Level = "product", half_life_days: float | None = None,
    min_support: int = 3,
) -> pd.DataFrame | None:
    """The first recommendation of each customer in ``customers`` (``item``, ``lift``, ``because``),
    indexed by customer id; None when no transaction names a ``level`` item."""
    column = _check(level, half_life_days, min_support)
    tx = ws.table("transactions") if "transactions" in ws.tables() else None
    if tx is None or not bool(tx[column].notnull().any().execute()):
        return None
    log = _log(ws, column)
    who = ibis.memtable(pd.DataFrame({"customer_id": customers.astype(str).unique()}))
    model = _model(log, _as_of(log, None), half_life_days, min_support,
                   _semi(log, who, "customer_id").select("item").distinct())
    rows = _top_k(model, who, 1).select("customer_id", "item", "lift", "because", "source").execute()
    return rows.set_index("customer_id")


@dataclass
class Evaluation:
    """What :func:`evaluate_recommendations` measured (per-customer figures in ``customers_``)."""

    k: int
    split: dt.datetime
    level: str
    half_life_days: float | None
    customers: int
    precision: float
    recall: float
    precision_popularity: float
    recall_popularity: float
    difference: tuple[float, float, float]
    level_ci: float
    per_customer: pd.DataFrame

    @property
    def summary(self) -> str:
        """One sentence: both precisions and the paired difference with its interval."""
        d, lo, hi = self.difference
        return (f"precision@{self.k} {self.precision:.4f} (co-occurrence) vs {self.precision_popularity:.4f} "
                f"(popularity), recall@{self.k} {self.recall:.4f} vs {self.recall_popularity:.4f}, on "
                f"{self.customers:,} customers who bought new {PLURAL[self.level]} from {self.split:%Y-%m-%d}; "
                f"difference in precision {d:+.4f} ({round(self.level_ci * 100)}% CI {lo:+.4f} to {hi:+.4f})")

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {"k": self.k, "split": self.split, "level": self.level, "half_life_days": self.half_life_days,
                "customers": self.customers, "precision": self.precision, "recall": self.recall,
                "precision_popularity": self.precision_popularity, "recall_popularity": self.recall_popularity,
                "precision_difference": list(self.difference), "summary": self.summary}


def evaluate_recommendations(
    ws: Any, *, k: int = 10, split: Any = None, level: Level = "product", half_life_days: float | None = None,
    min_support: int = 3, ci_level: float = 0.95,
) -> Evaluation:
    """Precision@k and recall@k of the recommendations against the popularity baseline, on a time split.

    ``split`` (a day) defaults to 80% of the way from the first to the last purchase. The
    difference in precision is paired (the same customers): mean and Student t interval of the
    per-customer differences.
    """
    column = _check(level, half_life_days, min_support, k)
    ci_level = stats.check_level(ci_level, WHERE)
    log = _log(ws, column)
    if split is None:
        span = log.aggregate(first=log.ordered_at.min(), last=log.ordered_at.max()).execute().iloc[0]
        first, last = pd.Timestamp(span["first"]), pd.Timestamp(span["last"])
        split = (first + 0.8 * (last - first)).normalize()
    when = pd.Timestamp(split).to_pydatetime()
    model = _model(log, when, half_life_days, min_support)
    later = log.filter(log.ordered_at >= when)
    new = _anti(later.select("customer_id", "item").distinct(), model.bought, ["customer_id", "item"])
    new = _semi(new, model.bought, "customer_id")
    truth = new.group_by("customer_id").aggregate(n_new=new.count())
    who = truth.select("customer_id")
    recs = _top_k(model, who, k)
    hits = _semi(recs, new, ["customer_id", "item"]).group_by("customer_id").aggregate(hits=ibis._.count())
    base = _semi(_popular(model, who, k), new, ["customer_id", "item"])
    base_hits = base.group_by("customer_id").aggregate(hits_pop=ibis._.count())
    frame = (truth.left_join(hits, "customer_id").select("customer_id", "n_new", hits=ibis.coalesce(ibis._.hits, 0))
             .left_join(base_hits, "customer_id")
             .select("customer_id", "n_new", "hits", hits_pop=ibis.coalesce(ibis._.hits_pop, 0))).execute()
    if frame.empty:
        msg = (f"{WHERE}: no customer bought before {when:%Y-%m-%d} and new {PLURAL[level]} from then on: nothing "
               "to evaluate")
        raise DataValidationError(msg, hint=Hint(option="split", value=None, text="choose another split day"))
    prec, prec_pop = frame["hits"] / k, frame["hits_pop"] / k
    diff = (prec - prec_pop).to_numpy(dtype=float)
    lo, hi = stats.t_interval(diff.mean(), diff.std(ddof=1), len(diff), level=ci_level)
    frame = frame.set_index("customer_id").assign(precision=prec.to_numpy(), precision_pop=prec_pop.to_numpy())
    return Evaluation(k, when, level, half_life_days, len(frame), float(prec.mean()),
                      float((frame["hits"] / frame["n_new"]).mean()), float(prec_pop.mean()),
                      float((frame["hits_pop"] / frame["n_new"]).mean()), (float(diff.mean()), float(lo), float(hi)),
                      ci_level, frame)


def _popular(model: Model, who: Any, k: int) -> Any:
    """The popularity baseline: the k items with the most (decayed) buyers each customer has not bought."""
    mine = _semi(model.bought, who, "customer_id")
    counts = mine.group_by("customer_id").aggregate(n_bought=mine.count())
    people = who.left_join(counts, "customer_id").select("customer_id", n_bought=ibis.coalesce(ibis._.n_bought, 0))
    pop = people.cross_join(model.items)
    pop = pop.filter(pop.pop_rank <= pop.n_bought + k)
    pop = _anti(pop.select("customer_id", "item", "pop_rank"), mine, ["customer_id", "item"])
    ranked = pop.mutate(rank=ibis.row_number().over(group_by="customer_id", order_by=pop.pop_rank) + 1)
    return ranked.filter(ranked["rank"] <= k)


__all__ = ["Evaluation", "evaluate_recommendations", "recommend_items", "top_items"]
