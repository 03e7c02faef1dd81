"""``/customers`` (search by id, filter by segment, stage and store, sort, pages of 50) and
``/customers/{id}`` (purchases over time, feedback, predicted value, stage and health, cases), over
the user's customers only: another store's customer answers 404, a store filter outside the grants 403."""

from __future__ import annotations

import math
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from clvlab.report import charts
from clvlab.report.charts import Chart, Table
from clvlab.report.context import Context, Section, num
from clvlab.server.deps import NO_NUL, Reader, Text
from clvlab.server.pages.common import PageCtx, csv_answer, demo_stores, render, sections_page

router = APIRouter(include_in_schema=False)
PER_PAGE = 50
Opt = Annotated[Text | None, Query(max_length=128)]


@router.get("/customers")
def customers(p: PageCtx, reader: Reader, q: Opt = None, segment: Opt = None, stage: Opt = None, store: Opt = None,
              sort: Opt = "clv", page: Annotated[int, Query(ge=1, le=1_000_000)] = 1) -> Response:
    """One page of the user's customers; ``?csv=customers`` downloads every matching row."""
    from clvlab.server.reads import SORTS, customer_search, customer_table, filter_options

    t = p.t
    with reader.open() as ws:
        if "scores" not in ws.tables():
            return sections_page(p, "customers", t["customers_title"], "",
                                 [Section("customers", t["customers_title"], note=t["no_scores"])])
        base = customer_table(p.scope, ws, store)
        demo = demo_stores(ws)
        choices = filter_options(base)
        table = customer_search(base, q, segment, stage, sort)
        total = int(table.count().execute())
        csv = p.request.query_params.get("csv") == "customers"
        frame = table.execute() if csv else table.limit(PER_PAGE, offset=(page - 1) * PER_PAGE).execute()
    columns = [t["customer"], t["store"], t["clv_axis"], t["p_alive"], t["segment"], t["stage"], t["health_score"],
               t["band"]]
    rows = [[str(r["customer_id"]), str(r.get("store_id") or "–"), num(r["clv"], ",.2f"), num(r["p_alive"], ".3f"),
             str(r.get("segment") or "–"), t.get(f"stage_{r.get('stage')}", str(r.get("stage") or "–")),
             num(r.get("health"), ".1f"), t.get(f"band_{r.get('band')}", str(r.get("band") or "–"))]
            for r in frame.to_dict("records")]
    result = Table(t["customers_title"], columns, rows, [False, False, True, True, False, False, True, False])
    if csv:
        return csv_answer(p, "customers", result)
    return render(p, "customers.html.j2", title=t["customers_title"], intro=t["demo_stores"] if demo else "",
                  table=result, choices=choices, total=total,
                  page=page, pages=max(1, math.ceil(total / PER_PAGE)), sorts=list(SORTS),
                  chosen={"q": q or "", "segment": segment or "", "stage": stage or "", "store": store or "",
                          "sort": sort or "clv"})


def _row(p: PageCtx, ws: Any, name: str, customer_id: str) -> dict[str, Any]:
    if name not in ws.tables():
        return {}
    table = p.scope.table(ws, name)
    frame = table.filter(table.customer_id == customer_id).limit(1).execute()
    return {} if frame.empty else frame.iloc[0].to_dict()


#: labels of the fields a customer's page shows (others by their column name)
FIELD_LABELS = {"store_id": "store", "clv": "clv_axis", "p_alive": "p_alive", "segment": "segment", "stage": "stage",
                "health": "health_score", "band": "band", "churn_probability": "p_churn"}


def _value(p: PageCtx, name: str, value: Any) -> str:
    if isinstance(value, pd.Timestamp):
        return str(value.date()) if value == value.normalize() else str(value)[:16]
    if name == "churn_probability":
        return num(100 * float(value), ".1f")
    if isinstance(value, float):
        return num(value, ",.2f" if abs(value) >= 1 else ".3f")
    if name in ("stage", "band"):
        return p.t.get(f"{name}_{value}", str(value))
    return str(value)


def _facts(p: PageCtx, title: str, row: dict[str, Any], fields: tuple[str, ...]) -> Table:
    rows = [[p.t[FIELD_LABELS[f]] if f in FIELD_LABELS else f, _value(p, f, row[f])]
            for f in fields if f in row and row[f] is not None and not (isinstance(row[f], float) and pd.isna(row[f]))]
    return Table(title, [p.t["field"], p.t["value"]], rows, [False, False])


def timeline(p: PageCtx, ws: Any, customer_id: str, ctx: Context) -> Section:
    t = p.t
    section = Section("timeline", t["timeline"])
    if "transactions" not in ws.tables():
        section.note = t["no_rows"]
        return section
    tx = p.scope.table(ws, "transactions")
    tx = tx.filter(tx.customer_id.cast("string") == customer_id)
    amount = "amount" if "amount" in tx.columns else None
    tx = tx.mutate(day=tx.ordered_at.date())
    aggs = {"orders": tx.count(), **({"amount": tx[amount].sum()} if amount else {})}
    frame = tx.group_by("day").aggregate(**aggs).order_by("day").execute()
    days = [str(pd.Timestamp(d).date()) for d in frame["day"]]
    values: list[float | None] = [round(float(v), 2) for v in frame["amount" if amount else "orders"]]
    title = t["timeline_chart"]
    section.charts.append(Chart(
        "chart-timeline", title, charts.bars(days, values, y_name=t["amount"] if amount else t["orders"],
                                             rotate=30 if len(days) > 8 else 0),
        Table(title, [t["date"], t["orders"], *([t["amount"]] if amount else [])],
              [[d, f"{int(o):,}", *([ctx.money(a)] if amount else [])]
               for d, o, a in zip(days, frame["orders"], frame["amount"] if amount else frame["orders"], strict=True)])))
    return section


def feedback(p: PageCtx, ws: Any, customer_id: str) -> Section:
    t = p.t
    section = Section("feedback", t["feedback"])
    if "feedback" not in ws.tables():
        section.note = t["no_feedback"]
        return section
    fb = p.scope.feedback(ws)
    fb = fb.filter(fb.customer_id.cast("string") == customer_id).order_by(fb.responded_at.desc()).limit(50)
    frame = fb.execute()
    rows = [[str(pd.Timestamp(r["responded_at"]))[:16], str(r.get("metric") or "–"), num(r.get("score"), "g"),
             str(r.get("store_id") or "–"), str(r.get("comment") or "")] for r in frame.to_dict("records")]
    section.tables.append(Table(t["feedback"], [t["date"], t["metric"], t["score"], t["store"], t["comment"]], rows,
                                [False, False, True, False, False]))
    return section


def cases(p: PageCtx, customer_id: str) -> Section:
    from clvlab.cases.service import CaseService
    from clvlab.store import Case

    t = p.t
    svc = CaseService(p.ctx.store)
    with p.ctx.store.session() as s:
        views = [svc.view(c) for c in s.scalars(p.scope.cases().where(Case.customer_id == customer_id)
                                                .order_by(Case.opened_at))]
    section = Section("cases", t["cases_title"])
    section.tables.append(Table(t["cases_title"], [t["case"], t["state"], t["priority"], t["owner"], t["sla"],
                                                   t["opened"], t["reasons_case"]],
                                [[str(v.id), t.get(f"state_{v.state}", v.state), v.priority, str(v.owner_id or "–"),
                                  t.get(f"sla_{v.sla_state}", v.sla_state), f"{v.opened_at:%Y-%m-%d}", v.reasons]
                                 for v in views], [True] + [False] * 6))
    return section


@router.get("/customers/{customer_id}")
def customer(p: PageCtx, reader: Reader, customer_id: Annotated[str, Path(pattern=NO_NUL, max_length=128)]) -> Response:
    """One customer of the user's stores (404 otherwise); ``?csv=<table>`` downloads one of its tables."""
    t = p.t
    with reader.open() as ws:
        p.scope.require_customer(ws, customer_id)
        ctx = Context(ws, t)
        scores = _row(p, ws, "scores", customer_id)
        facts = {**_row(p, ws, "stages", customer_id), **_row(p, ws, "health", customer_id)}
        head = Section("summary", t["summary"])
        head.tiles += [(_value(p, "clv", scores["clv"]) if "clv" in scores else "–", t["clv_axis"]),
                       (_value(p, "stage", facts["stage"]) if "stage" in facts else "–", t["stage"]),
                       (_value(p, "health", facts["health"]) if "health" in facts else "–",
                        t["health_score"] + (f" ({_value(p, 'band', facts['band'])})" if "band" in facts else ""))]
        head.tables += [
            _facts(p, t["scores"], scores, ("store_id", "clv", "clv_lower", "clv_upper", "p_alive",
                                            "expected_purchases", "expected_spend", "segment", "as_of")),
            _facts(p, t["stage_health"], facts, ("stage", "n_purchases", "first_purchase", "last_purchase",
                                                 "days_since_last", "cadence_days", "health", "band",
                                                 "churn_probability"))]
        sections = [head, timeline(p, ws, customer_id, ctx), feedback(p, ws, customer_id)]
    sections.append(cases(p, customer_id))
    return sections_page(p, f"customer-{customer_id}", t["customer_title"].format(id=customer_id), "", sections)
