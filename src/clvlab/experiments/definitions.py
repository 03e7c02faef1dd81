"""Experiment definitions and the global holdout, stored in the workspace.

Two tables besides the contract's ``experiments`` (one row per customer and experiment):

``experiment_definitions``, one row per experiment:

================ =========== ===============================================================
column           type        meaning
================ =========== ===============================================================
experiment_id    VARCHAR     the experiment's id (``winback-q1``), the key
name             VARCHAR     a title (the id by default)
status           VARCHAR     ``running`` (assigned) or ``stopped`` (:func:`stop_experiment`)
seed             BIGINT      the random seed of the assignment: the same call draws the same arms
created_at       TIMESTAMP   when the definition was written (workspace time zone)
assigned_at      TIMESTAMP   the assignment time written on every customer's row
control_share    DOUBLE      planned share of the control arm (the SRM check's expectation)
stratify_by      VARCHAR     what the randomisation was stratified by (empty: none)
segment, stage   VARCHAR     the eligibility filters, comma-separated (empty: everyone)
metrics          VARCHAR     the metrics to analyse by default, comma-separated
allow_overlap    BOOLEAN     whether customers already treated by a running experiment could enter
holdout_share    DOUBLE      the workspace's global holdout share when assigned (0: none)
customers        BIGINT      customers assigned
arms             VARCHAR     the planned arms and shares, ``control:0.2,email:0.4,sms:0.4``
                             (empty in definitions written before arms existed: control and
                             treatment at ``control_share``)
================ =========== ===============================================================

``experiment_baselines``: each assigned customer's CLV and P(alive) from the ``scores`` table at
assignment, when those scores hold as of a day no later than the assignment (a covariate of the
regression adjustment: pre-period CLV).

The global holdout lives in the workspace's ``clvlab_meta`` table (``holdout_share`` and a random
``holdout_salt``): a customer is held out when sha256(salt + ':' + customer_id), read as a fraction
of 2^64, is below the share. Stable: the same customer is held out of every campaign, and new
customers fall in or out by the same rule.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, fields
from typing import Any

import pandas as pd

from clvlab.errors import ClvlabError, DataValidationError, ParameterError, check_param

DEFINITIONS = "experiment_definitions"
BASELINES = "experiment_baselines"
META = "clvlab_meta"
DEFAULT_METRICS = ("retention", "repurchase", "spend", "clv")

_DDL = {
    DEFINITIONS: (
        "experiment_id VARCHAR PRIMARY KEY, name VARCHAR, status VARCHAR, seed BIGINT, created_at TIMESTAMP, "
        "assigned_at TIMESTAMP, control_share DOUBLE, stratify_by VARCHAR, segment VARCHAR, stage VARCHAR, "
        "metrics VARCHAR, allow_overlap BOOLEAN, holdout_share DOUBLE, customers BIGINT, arms VARCHAR"
    ),
    BASELINES: "experiment_id VARCHAR, customer_id VARCHAR, clv DOUBLE, p_alive DOUBLE, scores_as_of DATE",
}


@dataclass(frozen=True)
class Definition:
    """One row of ``experiment_definitions`` (see the module docstring)."""

    experiment_id: str
    name: str
    status: str
    seed: int
    created_at: dt.datetime
    assigned_at: dt.datetime
    control_share: float
    stratify_by: str
    segment: str
    stage: str
    metrics: str
    allow_overlap: bool
    holdout_share: float
    customers: int
    arms: str | None = ""

    def arm_shares(self) -> dict[str, float]:
        """The planned share of each arm, control first."""
        if not self.arms:
            return {"control": float(self.control_share), "treatment": 1 - float(self.control_share)}
        return {name: float(share) for name, _, share in (a.partition(":") for a in self.arms.split(","))}

    def to_dict(self) -> dict[str, Any]:
        """The definition as plain values (metrics as a list, arms as {arm: share})."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["metrics"] = [m for m in self.metrics.split(",") if m]
        out["arms"] = self.arm_shares()
        return out


def duckdb_con(ws: Any, where: str) -> Any:
    """The raw DuckDB connection of ``ws``, or a located error (experiments are stored in DuckDB)."""
    if not getattr(ws, "is_duckdb", False):
        msg = f"{where}: experiments are stored in a DuckDB workspace; {getattr(ws, 'url', ws)!r} is not one"
        raise ClvlabError(msg, hint="run it on a DuckDB workspace (clvlab.connect('shop.duckdb'))")
    return ws.con.con


def _ensure(con: Any, table: str) -> None:
    con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({_DDL[table]})")
    if table == DEFINITIONS:  # definitions stored before arms existed
        con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS arms VARCHAR")


def get_definition(ws: Any, experiment_id: str) -> Definition | None:
    """The stored definition of ``experiment_id``, or None (also for a non-DuckDB workspace)."""
    if not getattr(ws, "is_duckdb", False) or DEFINITIONS not in ws.tables():
        return None
    cur = ws.con.con.execute(f"SELECT * FROM {DEFINITIONS} WHERE experiment_id = ?", [experiment_id])
    row = cur.fetchone()
    if row is None:
        return None
    names = [d[0] for d in cur.description]
    return Definition(**dict(zip(names, row, strict=True)))


def save_definition(ws: Any, definition: Definition) -> None:
    """Insert ``definition`` (its id must be new)."""
    con = duckdb_con(ws, "save_definition")
    _ensure(con, DEFINITIONS)
    names = [f.name for f in fields(Definition)]
    con.execute(f"INSERT INTO {DEFINITIONS} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                [getattr(definition, n) for n in names])


def save_baselines(ws: Any, frame: pd.DataFrame) -> None:
    """Append rows (experiment_id, customer_id, clv, p_alive, scores_as_of) to ``experiment_baselines``."""
    con = duckdb_con(ws, "save_baselines")
    _ensure(con, BASELINES)
    con.register("_clvlab_baselines", frame)
    try:
        con.execute(f"INSERT INTO {BASELINES} SELECT experiment_id, customer_id, clv, p_alive, scores_as_of "
                    "FROM _clvlab_baselines")
    finally:
        con.unregister("_clvlab_baselines")


def read_baselines(ws: Any, experiment_id: str) -> pd.DataFrame | None:
    """The baselines of ``experiment_id`` indexed by customer, or None when none were stored."""
    if not getattr(ws, "is_duckdb", False) or BASELINES not in ws.tables():
        return None
    frame = ws.con.con.execute(f"SELECT customer_id, clv, p_alive FROM {BASELINES} WHERE experiment_id = ?",
                               [experiment_id]).df()
    return frame.set_index("customer_id") if len(frame) else None


def stop_experiment(ws: Any, experiment_id: str) -> Definition:
    """Mark a running experiment ``stopped``: its treated customers may enter new experiments."""
    found = get_definition(ws, experiment_id)
    if found is None:
        msg = f"stop_experiment: no experiment '{experiment_id}' is defined in this workspace"
        raise DataValidationError(msg, hint="list them with clvlab.list_experiments(ws)")
    ws.con.con.execute(f"UPDATE {DEFINITIONS} SET status = 'stopped' WHERE experiment_id = ?", [experiment_id])
    return get_definition(ws, experiment_id)  # type: ignore[return-value]


def list_experiments(ws: Any) -> pd.DataFrame:
    """Every experiment of the workspace: definitions joined with arm counts of ``experiments``.

    Experiments loaded from outside (rows in ``experiments`` without a definition) are listed
    with status ``loaded``.
    """
    cols = ["experiment_id", "name", "status", "control", "treatment", "assigned_at", "control_share",
            "stratify_by", "seed"]
    tables = ws.tables()
    counts = pd.DataFrame(columns=["experiment_id", "control", "treatment", "first_assigned"])
    if "experiments" in tables:
        t = ws.table("experiments")
        agg = t.group_by("experiment_id").aggregate(
            control=(t.arm == "control").sum(), treatment=(t.arm != "control").sum(),
            first_assigned=t.assigned_at.min())
        counts = agg.execute()
    defs = (ws.con.con.execute(f"SELECT * FROM {DEFINITIONS}").df()
            if getattr(ws, "is_duckdb", False) and DEFINITIONS in tables else pd.DataFrame(columns=["experiment_id"]))
    merged = defs.merge(counts, on="experiment_id", how="outer")
    if merged.empty:
        return pd.DataFrame(columns=cols)
    loaded = merged["status"].isna() if "status" in merged else pd.Series(True, index=merged.index)
    merged.loc[loaded, "status"] = "loaded"
    merged["name"] = merged.get("name", pd.Series(dtype=object)).fillna(merged["experiment_id"])
    merged["assigned_at"] = merged.get("assigned_at", pd.Series(dtype=object)).fillna(merged["first_assigned"])
    for c in cols:
        if c not in merged:
            merged[c] = None
    merged[["control", "treatment"]] = merged[["control", "treatment"]].fillna(0).astype(int)
    return merged[cols].sort_values("experiment_id").reset_index(drop=True)


# --- the global holdout ----------------------------------------------------------------------

def _meta(con: Any, key: str) -> str | None:
    import duckdb

    try:
        row = con.execute(f"SELECT value FROM {META} WHERE key = ?", [key]).fetchone()
    except duckdb.CatalogException:  # nothing stored yet
        return None
    return None if row is None else str(row[0])


def global_holdout(ws: Any, share: float | None = None) -> float:
    """The workspace's global holdout share (0 when none); ``share`` sets it the first time.

    ``share`` in [0.01, 0.10]: that share of all customers is kept out of every experiment
    assigned in this workspace (stable, by a salted hash of the customer id). A different share
    once one is set is refused: it would move customers in or out of the holdout.
    """
    where = "global_holdout"
    if share is not None:
        ok = isinstance(share, float | int) and not isinstance(share, bool) and 0.01 <= share <= 0.10
        check_param(ok, "holdout", where, "a share in [0.01, 0.10]", share)
    if not getattr(ws, "is_duckdb", False):
        if share is not None:
            duckdb_con(ws, where)
        return 0.0
    con = ws.con.con
    stored = _meta(con, "holdout_share")
    if share is None:
        return float(stored) if stored else 0.0
    if stored and abs(float(stored) - float(share)) > 1e-12:
        msg = (f"{where}: this workspace already keeps a global holdout of {float(stored):.0%}; changing it to "
               f"{float(share):.0%} would move customers in or out of it; leave holdout out (the stored share "
               "applies to every assignment)")
        raise ParameterError(msg)
    if not stored:
        con.execute(f"CREATE TABLE IF NOT EXISTS {META} (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
        con.execute(f"INSERT INTO {META} VALUES ('holdout_salt', ?) ON CONFLICT DO NOTHING", [secrets.token_hex(16)])
        con.execute(f"INSERT INTO {META} VALUES ('holdout_share', ?)", [repr(float(share))])
    return float(share)


def in_holdout(ws: Any, customer_ids: pd.Series) -> pd.Series:
    """Boolean per customer: held out of every campaign by the workspace's global holdout."""
    share = global_holdout(ws)
    if not share:
        return pd.Series(False, index=customer_ids.index)
    salt = _meta(ws.con.con, "holdout_salt") or ""
    return customer_ids.astype(str).map(lambda c: hash_fraction(salt, c) < share)


def hash_fraction(salt: str, customer_id: str) -> float:
    """sha256(salt + ':' + customer_id) as a fraction in [0, 1) (first 64 bits)."""
    digest = hashlib.sha256(f"{salt}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
