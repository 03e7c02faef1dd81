"""``/cases``: the case inbox of the user's stores (one owner's with ``?owner=``), SLA colours, and
forms to assign, start and resolve with a root cause: each posts with the CSRF token and goes
through the same scoped, audited change as ``POST /api/v1/cases/{id}/...``."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from clvlab.cases.model import STATES
from clvlab.cases.service import CaseService
from clvlab.report.charts import Table
from clvlab.server.api.cases import CaseId, _change, _filtered
from clvlab.server.deps import Text
from clvlab.server.pages.common import Form, PageCtx, check_form, csv_answer, render
from clvlab.server.scope import NotFoundError
from clvlab.store import Case, OwnerScope

router = APIRouter(include_in_schema=False)
#: root causes offered in the resolve form (free text is accepted too)
ROOT_CAUSES = ("delivery", "product", "staff", "price", "stock", "store", "app", "other")
Opt = Annotated[Text | None, Query(max_length=64)]
#: cases listed on the page, the most urgent first (the CSV has them all)
SHOWN = 200


def _owners(p: PageCtx) -> list[str]:
    """Owners who answer for a store the user sees (every owner for roles that see every store)."""
    stores = p.scope.stores
    query = select(OwnerScope.owner_id).distinct()
    if stores is not None:
        query = query.where(OwnerScope.store_id.in_(sorted(stores)))
    with p.ctx.store.session() as s:
        return sorted(s.scalars(query))


@router.get("/cases")
def inbox(p: PageCtx, owner: Opt = None, state: Opt = None, store: Opt = None) -> Response:
    """The cases of the user's stores, open ones first; ``?csv=cases`` downloads them."""
    t = p.t
    states = [state] if state else ["open", "in_progress"]
    svc = CaseService(p.ctx.store)
    query = _filtered(p.scope, states if state != "all" else None, owner, [store] if store else None, None)
    with p.ctx.store.session() as s:
        views = [svc.view(c) for c in s.scalars(query.order_by(Case.due_at, Case.id))]
    rows = [[str(v.id), str(v.customer_id or "–"), str(v.store_id or "–"), t.get(f"state_{v.state}", v.state),
             v.priority, str(v.owner_id or "–"), t.get(f"sla_{v.sla_state}", v.sla_state), f"{v.due_at:%Y-%m-%d %H:%M}",
             v.reasons, str(v.root_cause or "")] for v in views]
    table = Table(t["cases_title"], [t["case"], t["customer"], t["store"], t["state"], t["priority"], t["owner"],
                                     t["sla"], t["due"], t["reasons_case"], t["root_cause"]], rows,
                  [True] + [False] * 9)
    if p.request.query_params.get("csv") == "cases":
        return csv_answer(p, "cases", table)
    return render(p, "cases.html.j2", title=t["cases_title"], intro=t["cases_intro"].format(who=p.who()),
                  views=views[:SHOWN], total=len(views), shown=min(SHOWN, len(views)), table=table, owners=_owners(p), states=["all", *STATES], root_causes=ROOT_CAUSES,
                  chosen={"owner": owner or "", "state": state or "", "store": store or ""},
                  done=p.request.query_params.get("done", ""))


@router.post("/cases/{case_id}/{action}")
def change(case_id: CaseId, action: str, p: PageCtx, form: Form) -> Response:
    """Assign (``owner_id``), start, or resolve (``root_cause``) a case of the user's stores."""
    check_form(p, form)
    note = form.get("note") or None
    if action == "assign":
        _change(p.request, p.ctx, p.scope, case_id, "assign", owner_id=form.get("owner_id", ""), note=note)
    elif action == "start":
        _change(p.request, p.ctx, p.scope, case_id, "start", note=note)
    elif action == "resolve":
        _change(p.request, p.ctx, p.scope, case_id, "resolve", root_cause=form.get("root_cause") or None, note=note)
    else:
        msg = f"unknown case action '{action}'; actions: assign, start, resolve"
        raise NotFoundError(msg)
    back = {k: form[k] for k in ("owner", "state", "store") if form.get(k)}
    return RedirectResponse(f"/cases?{urlencode({**back, 'done': f'{case_id}:{action}'})}", status_code=303)
