"""``clvlab report``: one self-contained HTML file from the tables a run wrote."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from clvlab.cli._common import (
    WorkspaceOpt,
    connect_workspace,
    console,
    emit_json,
    state,
    styled,
    user_errors,
)
from clvlab.errors import DataValidationError


class Lang(StrEnum):
    """Languages of the report."""

    en = "en"
    zh = "zh"


@user_errors
def report(
    workspace: WorkspaceOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path("report.html"),
    lang: Annotated[Lang, typer.Option("--lang", help="Language: en or zh.")] = Lang.en,
    currency: Annotated[str, typer.Option("--currency", help="Unit printed with amounts, e.g. USD "
                                          "\\[default: none: amounts are in the transactions' currency].")] = "",
    top: Annotated[int, typer.Option("--top", min=1, help="Customers on the churn watchlist.")] = 20,
    app_store: Annotated[str | None, typer.Option(
        "--app-store", help="App store URL: the headline counts its open cases \\[default: $CLVLAB_APP_STORE; "
        "none: not shown].")] = None,
) -> None:
    """Write the HTML report (charts embedded, no network): CLV, stages, health, churn watchlist,
    NPS by stage, cohorts, LTV:CAC, model diagnostics and holdout tracking."""
    from contextlib import nullcontext

    from clvlab.report import render_report
    from clvlab.settings import get_settings
    from clvlab.store import open_app_store

    if workspace is not None and "://" not in str(workspace) and not Path(workspace).exists():
        msg = f"workspace '{workspace}' does not exist"
        raise DataValidationError(msg, hint=f"run the pipeline first: clvlab run -w {workspace}")
    store_url = app_store or get_settings().app_store
    with connect_workspace(workspace, read_only=True) as ws, \
            (open_app_store(store_url) if store_url else nullcontext()) as store:
        rendered = render_report(ws, lang.value, currency=currency, app_store=store, top=top)
    out.write_text(rendered.html, encoding="utf-8")
    size = out.stat().st_size
    missing = [s for s in rendered.sections if s.note]
    if state.json:
        emit_json({"path": str(out), "lang": lang.value, "bytes": size,
                   "sections": [{"key": s.key, "title": s.title, "shown": not s.note, "note": s.note,
                                 "charts": [c.id for c in s.charts]} for s in rendered.sections]})
        return
    shown = len(rendered.sections) - len(missing)
    console.print(styled(("report", "bold"), f" written to {out} ({size / 1e6:.1f} MB, {lang.value}): "
                         f"{shown} of {len(rendered.sections)} sections shown."), soft_wrap=True)
    for s in missing:
        console.print(f"  not shown: {s.title}: {s.note}", highlight=False, soft_wrap=True)
