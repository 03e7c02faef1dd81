"""The CLV run where the data is: fit on distinct rows the engine counts, score in the engine.

For transaction logs that live in Spark (or any Ibis engine) and must not come into Python:

1. the RFM summary and the calibration/holdout split stay expressions in the engine
   (:func:`clvlab.features.rfm.rfm_expression`); the engine counts the distinct
   ``(frequency, recency, T)`` rows (a few thousand for millions of customers at week
   granularity), and only those rows, with their counts, come to Python;
2. every candidate is fitted on the calibration's distinct rows and judged on the holdout by
   the same weighted errors (:func:`clvlab.pipeline.compare_models` with ``weights``); the best
   is refitted on the whole period's rows; Gamma-Gamma on the distinct ``(frequency,
   monetary_value)`` pairs of the repeat buyers up to :data:`SPEND_EXACT_MAX` repeat buyers,
   beyond that on the engine's bins of the mean spend (:func:`spend_rows`: every customer
   counted, a bounded number of rows, a stated error far below the fit's standard errors);
3. P(alive), expected purchases and their discounted sum are computed in NumPy on the distinct
   ``(frequency, recency, T)`` rows only; that small table goes back to the engine, is joined to
   the per-customer RFM there, and the engine computes the expected spend (Gamma-Gamma's
   ``p (v + x m) / (p x + q - 1)`` with the fitted parameters as literals), revenue and CLV;
   the result is written as a table (contract ``scores``), never collected.

The distinct rows are handed over in the order of their first customer id, the order the
in-memory fit sees them in, so the fits (and the scores) equal the DuckDB run's.

Not done in the engine (a located list in :attr:`ScaleRun.skipped`): the CLV interval
(``clv_lower``/``clv_upper``) and RFM segments, the diagnostics table (its holdout tracking reads the log), and
the lifecycle, churn, economics, leads and feedback steps of :func:`clvlab.run_pipeline`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Unpack

import ibis
import numpy as np
import pandas as pd

from clvlab.errors import (
    ConvergenceWarning,
    DataQualityWarning,
    DataValidationError,
    Hint,
    ParameterError,
    muted,
)
from clvlab.features.units import DEFAULT_TIME_UNIT
from clvlab.pipeline import (
    DEFAULT_CANDIDATES,
    ClvOptions,
    ProgressCallback,
    _Steps,
    compare_models,
    default_calibration_end,
)

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from clvlab.features.rfm import Freq

__all__ = [
    "SKIPPED_STEPS", "SPEND_BIN_WIDTH", "SPEND_EXACT_MAX", "ScaleRun", "distinct_counts", "engine_table",
    "run_clv_at_scale", "score_in_engine", "spend_rows",
]

#: what a run at scale leaves out, and why (shown by ``clvlab run --engine spark``)
SKIPPED_STEPS = (
    "CLV interval (clv_lower, clv_upper) and RFM segments: parameter draws and quantile scores "
    "are computed in Python per customer",
    "the diagnostics table (comparison, fits, holdout tracking period by period): the tracking reads "
    "the transaction log into Python (the comparison and the fits are in the run's result)",
    "lifecycle stages, health, churn, cohorts, economics, leads, feedback summaries and cases: "
    "they run on DuckDB or PostgreSQL workspaces (clvlab run without --engine)",
)

_FRT = ["frequency", "recency", "T"]

#: up to this many repeat buyers Gamma-Gamma is fitted on their exact distinct (frequency,
#: monetary_value) pairs (at most one per buyer: ~50 MB in a Spark driver); beyond, on bins
SPEND_EXACT_MAX = 100_000
#: width of a spend bin on the log scale: 0.01, i.e. mean spends within about 1% of each other
SPEND_BIN_WIDTH = 0.01


@dataclass
class ScaleRun:
    """What :func:`run_clv_at_scale` did: the comparison, the fits, where the scores went."""

    comparison: pd.DataFrame
    best: str
    model: Any
    spend_model: Any
    run_id: str
    scores_table: str
    n_customers: int
    total_clv: float
    #: rows that came to Python for the fit: distinct (frequency, recency, T), repeat-buyer pairs
    rows_collected: dict[str, int]
    settings: dict[str, Any] = field(default_factory=dict)
    skipped: tuple[str, ...] = SKIPPED_STEPS


def distinct_counts(expr: ir.Table, columns: Sequence[str]) -> pd.DataFrame:
    """The distinct rows of ``columns`` of a per-customer expression with their customer count
    ``n``, ordered by their first customer id (``cid``): computed in the engine, only these
    rows are returned."""
    counted = expr.group_by(list(columns)).aggregate(n=expr.count(), first_cid=expr.cid.min())
    return counted.order_by("first_cid").execute().drop(columns="first_cid")


def spend_rows(repeat: ir.Table, n_repeat: int, *, cap: int | None = None,
               width: float | None = None) -> tuple[pd.DataFrame, str]:
    """The Gamma-Gamma fit's input, computed in the engine from the repeat buyers' per-customer
    ``frequency`` and ``monetary_value`` (``repeat``, at most ``n_repeat`` rows): rows of
    ``frequency``, ``monetary_value`` and the weight ``n``, and how they were made. ``cap`` and
    ``width`` default to :data:`SPEND_EXACT_MAX` and :data:`SPEND_BIN_WIDTH`.

    Up to ``cap`` repeat buyers: their distinct pairs with counts, so the fit is the in-memory
    one exactly. Beyond: a mean spend is a continuous number (about one distinct pair per
    repeat buyer), and the likelihood's ``log(x m + v)`` term has no sufficient statistic, so
    the engine bins ``u = log m`` per frequency in bins of ``width`` and returns per bin the
    count and the first two moments of ``u``; each bin enters the fit as the two points
    ``mean(u) -+ sd(u)`` with half its count each (one point when its spends are equal). The
    rows are bounded by the spread of the spend (distinct frequencies x ``log(max m / min m) /
    width``, at most two rows per bin), not by the number of customers.

    Why bins and not a sample of ``cap`` buyers: a sample moves p, q, v by sampling noise of
    the order of their standard errors at ``cap`` customers (and differently on each engine:
    their hash functions differ), while the bins count every customer, give the same rows on
    every engine, and their error has a bound far below that noise. The ``(p x - 1) log m``
    term needs only ``sum(u)`` per bin, which the two points keep exactly; the two points also
    keep ``sum(u**2)``, so the convex ``g(u) = log(x e**u + v)`` of the ``(p x + q) log(x m + v)``
    term is matched to second order. With ``|u - mean| < width``, ``sd <= width / 2`` and
    ``|g'''| <= 1 / (6 sqrt 3)``, each customer's log-likelihood is off by at most
    ``(p x + q) * 0.0181 * width**3``: ``1.8e-7`` for p = 6, q = 4, x = 1 at width 0.01, against
    a log-likelihood of several units per customer.
    """
    cap = SPEND_EXACT_MAX if cap is None else cap
    width = SPEND_BIN_WIDTH if width is None else width
    if n_repeat <= cap:
        return distinct_counts(repeat, ["frequency", "monetary_value"]), "exact pairs"
    u = repeat.monetary_value.cast("float64").ln()
    binned = repeat.mutate(bin_=(u / width).floor().cast("int64"), u_=u)
    offset = binned.u_ - binned.bin_.cast("float64") * width  # in [0, width): no cancellation below
    counts = (binned.group_by(["frequency", "bin_"])
              .aggregate(n=binned.count(), d1=offset.mean(), d2=(offset * offset).mean())
              .order_by(["frequency", "bin_"]).execute())
    d1, d2 = (counts[c].to_numpy(dtype=np.float64) for c in ("d1", "d2"))
    centre = counts["bin_"].to_numpy(dtype=np.float64) * width + d1
    var = d2 - d1**2  # rounding leaves ~1e-20 where the spends are equal: below (1e-6 width)**2 is none
    sd = np.sqrt(np.where(var > (1e-6 * width) ** 2, var, 0.0))
    x, n = counts["frequency"].to_numpy(dtype=np.float64), counts["n"].to_numpy(dtype=np.float64)
    two = np.where(sd > 0, 2, 1)  # a bin of one spend (one customer, or equal means) is exact as one row
    points = np.column_stack([centre - sd, centre + sd]).ravel()  # per bin: its low point, its high point
    kept = np.column_stack([np.ones(len(sd), dtype=bool), sd > 0]).ravel()
    rows = pd.DataFrame({"frequency": np.repeat(x, two), "n": np.repeat(n / two, two),
                         "monetary_value": np.exp(points[kept])})
    how = (f"{len(counts):,} bins of log(mean spend) {width:g} wide for {int(n.sum()):,} repeat buyers "
           f"(exact pairs up to {cap:,})")
    return rows, how


def _spend_expr(rfm: ir.Table, spend_model: Any) -> ir.FloatingValue:
    """Expected spend per purchase as an engine expression (see :func:`clvlab.score_customers`)."""
    if spend_model is None:  # own mean repeat spend; none: the repeat buyers' mean
        repeat = rfm.filter(rfm.frequency > 0)
        population = repeat.monetary_value.mean().execute()
        population = float("nan") if population is None or pd.isna(population) else float(population)
        return ibis.ifelse(rfm.frequency > 0, rfm.monetary_value, ibis.literal(population))
    spend_model.expected_spend(0.0, 0.0)  # refuses a fit with q <= 1, as the in-memory scoring does
    p, q, v = (spend_model.params_[k] for k in ("p", "q", "v"))
    x = rfm.frequency
    m = ibis.ifelse(x > 0, rfm.monetary_value, 0.0)
    return (p * (v + x * m) / (p * x + q - 1.0)).cast("float64")


def score_in_engine(
    rfm: ir.Table, rows: pd.DataFrame, model: Any, spend_model: Any = None, *, horizon: float = 365,
    discount_rate: float = 0.1, margin: float = 1.0, freq: str = DEFAULT_TIME_UNIT,
) -> ir.Table:
    """Per-customer scores as an expression over ``rfm`` (the engine's per-customer RFM): the
    purchase model's figures computed on the distinct ``rows`` (frequency, recency, T) and
    joined back in the engine. Columns: ``customer_id``, frequency, recency, T, monetary_value,
    p_alive, expected_purchases, expected_spend, expected_revenue, clv (as
    :func:`clvlab.score_customers`, without the interval and the segments)."""
    from clvlab.value._expected import purchases
    from clvlab.value.score import _check_common, _schedule

    _check_common("score_in_engine", horizon, discount_rate, margin)
    cols = {c: rows[c].to_numpy(dtype=np.float64) for c in _FRT}
    ends, divisors = _schedule(float(horizon), float(discount_rate), freq)
    bought = purchases(model, cols["frequency"], cols["recency"], cols["T"], ends, divisors)
    small = ibis.memtable(pd.DataFrame({**cols, "p_alive": bought.alive, "expected_purchases": bought.total,
                                        "discounted_": bought.discounted}))
    joined = rfm.join(small, _FRT)
    spend = _spend_expr(joined, spend_model)
    return joined.select(
        customer_id=joined.cid, frequency=joined.frequency, recency=joined.recency, T=joined["T"],
        monetary_value=joined.monetary_value, p_alive=joined.p_alive,
        expected_purchases=joined.expected_purchases, expected_spend=spend,
        expected_revenue=joined.expected_purchases * spend,
        clv=float(margin) * spend * joined.discounted_,
    )


def engine_table(workspace: Any, table: str, mapping: dict[str, str] | None = None) -> ir.Table:
    """``table`` (``"db.table"`` names a database) of the workspace's engine with the transaction
    contract's column names, or a located error.

    The columns are found as the loader finds them (:func:`clvlab.data.mapping.resolve_mapping`):
    ``mapping`` (``{"customer_id": "cust_no"}``) first, then the contract's names and aliases;
    ``customer_id``, ``ordered_at`` and ``amount`` are required (``amount`` is not derived from
    ``quantity * unit_price`` here). The other columns are kept.
    """
    from clvlab.data.contract import TRANSACTIONS
    from clvlab.data.mapping import MAPPING_HINT, resolve_mapping

    database, _, name = table.rpartition(".")
    try:
        tx = workspace.con.table(name, database=database or None)
    except Exception as exc:  # each engine has its own "not found" error
        msg = f"{workspace.url!r} has no table {table!r}: {str(exc).splitlines()[0]}"
        raise DataValidationError(msg, hint="name a table with the transaction contract's columns "
                                  "(customer_id, ordered_at, amount), e.g. warehouse.orders") from None
    found = resolve_mapping(TRANSACTIONS, list(tx.columns), dict(mapping or {}), table)
    missing = [c for c in ("customer_id", "ordered_at", "amount") if c not in found]
    if missing:
        msg = (f"{table!r} has no column for {', '.join(map(repr, missing))}: a run at scale reads the amount "
               f"as it is (no quantity * unit_price); available columns: {', '.join(tx.columns)}")
        raise DataValidationError(msg, hint=[Hint(option="mapping", value={missing[0]: "<column>"}), MAPPING_HINT])
    if all(canonical == source for canonical, source in found.items()):
        return tx
    used = set(found) | set(found.values())
    return tx.select(*(tx[source].name(canonical) for canonical, source in found.items()),
                     *(c for c in tx.columns if c not in used))


def run_clv_at_scale(
    workspace: Any, *, table: str = "transactions", scores_table: str = "scores",
    mapping: dict[str, str] | None = None, on_progress: ProgressCallback | None = None,
    **options: Unpack[ClvOptions],
) -> ScaleRun:
    """Fit, choose and score with the transactions left in the engine; write the scores there.

    Parameters
    ----------
    workspace
        A :class:`clvlab.Workspace` on any engine (Spark: ``clvlab.connect(spark)``).
    table
        The transactions (``customer_id``, ``ordered_at``, ``amount``), ``"db.table"`` for
        another database.
    scores_table
        Where the scores go (contract ``scores``, replaced), ``"db.table"`` for another database.
    mapping
        ``{contract column: table column}`` for a table with other column names, e.g.
        ``{"customer_id": "cust_no"}`` (the loader's mapping; aliases are found as there).
    on_progress
        ``(message, done, total)`` as each step starts.
    options
        The CLV settings of :class:`clvlab.pipeline.ClvOptions`.
    """
    candidates = options.get("candidates", DEFAULT_CANDIDATES)
    steps = _Steps(on_progress, 5 + len(candidates))
    run = _run(workspace, engine_table(workspace, table, mapping), table, scores_table, steps, **options)
    steps.finish()
    return run


def _run(
    workspace: Any, tx: ir.Table, table: str, scores_table: str, step: _Steps, *,
    freq: Freq = DEFAULT_TIME_UNIT, calibration_end: str | None = None, observation_end: str | None = None,
    horizon: int = 365, discount_rate: float = 0.1, margin: float = 1.0,
    candidates: Sequence[str] = DEFAULT_CANDIDATES, penalizer: float = 0.0, covariates: Sequence[str] = (),
) -> ScaleRun:
    from clvlab import models
    from clvlab.derived import write_derived_expr
    from clvlab.features.rfm import calibration_expression, rfm_expression
    if covariates:  # the covariate fit reads the feedback and scores comments in Python
        msg = ("run_clv_at_scale: covariates (the VoC covariate model) run on DuckDB or PostgreSQL "
               "workspaces, not in the engine")
        raise ParameterError(msg)
    step("counting the distinct (frequency, recency, T) rows in the engine")
    rfm = rfm_expression(tx, freq=freq, observation_end=observation_end, where="run_clv_at_scale")
    rows = distinct_counts(rfm, [*_FRT, "end_"])
    if rows.empty:
        msg = f"run_clv_at_scale: no transactions in {table!r} up to the observation end"
        raise DataValidationError(msg, hint="check the table and observation_end")
    obs_end = pd.Timestamp(rows["end_"].iloc[0])
    if calibration_end is None:
        calibration_end = default_calibration_end(obs_end, float(rows["T"].max()), freq)
    step("splitting calibration / holdout in the engine")
    cal = distinct_counts(
        calibration_expression(tx, calibration_end=calibration_end, observation_end=str(obs_end.date()),
                               freq=freq, where="run_clv_at_scale"),
        ["frequency_cal", "recency_cal", "T_cal", "frequency_holdout", "duration_holdout"])
    comparison = compare_models(cal, candidates, on_step=step, penalizer=penalizer, weights="n")
    best = str(comparison.index[0])
    step(f"refitting {best} on the whole period")
    frt = rows.drop(columns="end_")  # one observation end: the rows are distinct without it
    frt.attrs["freq"] = freq  # recorded by the fit as its time unit
    model = getattr(models, best)(penalizer=penalizer).fit(frt, weights=frt["n"].to_numpy(dtype=float))
    step("fitting Gamma-Gamma spend on repeat buyers")
    repeat = rfm.filter((rfm.frequency > 0) & (rfm.monetary_value > 0))
    pairs, spend_fit = spend_rows(repeat, int(frt.loc[frt["frequency"] > 0, "n"].sum()))
    spend = None
    if pairs["n"].sum() >= 10:
        with muted(DataQualityWarning, ConvergenceWarning):  # non-repeaters get the population mean
            spend = models.GammaGamma().fit(pairs, weights=pairs["n"].to_numpy(dtype=float))
    step(f"scoring customers in the engine into {scores_table!r}")
    scores = score_in_engine(rfm, frt, model, spend, horizon=horizon, discount_rate=discount_rate,
                             margin=margin, freq=freq)
    settings: dict[str, Any] = {"freq": freq, "calibration_end": calibration_end, "observation_end": str(obs_end.date()),
                "horizon_days": horizon, "discount_rate": discount_rate, "margin": margin,
                "candidates": list(candidates), "penalizer": penalizer, "table": table,
                "spend_fit": spend_fit}
    run_id = write_derived_expr(workspace, "scores", scores, as_of=obs_end.date(), target=scores_table,
                                values={"time_unit": freq, "horizon_days": float(horizon), "model": best})
    database, _, name = scores_table.rpartition(".")
    stored = workspace.con.table(name, database=database or None)
    totals = stored.aggregate(n=stored.count(), clv=stored.clv.sum()).execute()
    return ScaleRun(
        comparison=comparison, best=best, model=model, spend_model=spend, run_id=run_id,
        scores_table=scores_table, n_customers=int(totals["n"].iloc[0]), total_clv=float(totals["clv"].iloc[0]),
        rows_collected={"frequency_recency_T": len(frt), "calibration": len(cal), "spend_pairs": len(pairs)},
        settings=settings,
    )
