"""``clvlab voc text``: top words, keywords, sentiment, themes and intents of the feedback comments."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from clvlab.cli._common import (
    WorkspaceOpt,
    connect_workspace,
    console,
    emit_json,
    fmt_label,
    fmt_number,
    is_missing,
    new_table,
    out,
    state,
    user_errors,
)
from clvlab.errors import DataValidationError, Hint

if TYPE_CHECKING:
    import pandas as pd


class LangChoice(StrEnum):
    """Language of the comments."""

    auto = "auto"
    zh = "zh"
    en = "en"


def feedback_comments(workspace: Path | None, by: str | None) -> tuple[pd.DataFrame, str | None]:
    """The non-empty comments of the workspace's feedback table, and the name of the group column.

    ``by`` is any dimension ``voc metrics`` accepts (``store``, ``month``, ``segment``, a
    feedback column); the frame holds ``comment``, the group column and ``responded_at``. A
    response answered on several metrics (one row each) gives its comment once: rows with the
    same customer, time, group and comment are one comment.
    """
    from clvlab.voc.feedback import with_dimensions

    with connect_workspace(workspace, read_only=True) as ws:
        table = ws.table("feedback")
        cols = list(table.columns)
        if "comment" not in cols:
            msg = "the feedback table has no 'comment' column"
            raise DataValidationError(msg, hint=Hint("when you load the feedback", option="mapping",
                                                      value={"comment": "<column>"}))
        table, canon = with_dimensions(ws, [by] if by else [], where="voc text", table=table)
        group = canon[0] if canon else None
        keep = ["comment", *([group] if group else []), *(["responded_at"] if "responded_at" in cols else [])]
        # a wide file stores one row per metric of a response, each with its comment: count it once
        key = [c for c in ("customer_id", "responded_at") if c in cols]
        expr = table.filter(table.comment.notnull()).select(*dict.fromkeys([*keep, *key]))
        frame: pd.DataFrame = (expr.distinct() if key else expr).to_pandas()[keep]
    if group is not None:  # labels as text: months as ISO days, numbers as written
        frame[group] = [None if is_missing(v) else fmt_label(v) for v in frame[group]]
    return frame[frame["comment"].astype(str).str.strip() != ""].reset_index(drop=True), group


def _short(d: dict[str, Any], k: int = 4) -> str:
    return ", ".join(f"{key} {val}" for key, val in list(d.items())[:k])


@user_errors
def voc_text(
    by: Annotated[str | None, typer.Option(
        "--by", help="Group comments by: store, product, channel, touchpoint, survey, month, week, segment, "
        "or any feedback column.")] = None,
    lang: Annotated[LangChoice, typer.Option("--lang", help="auto (per comment), zh or en.")] = LangChoice.auto,
    workspace: WorkspaceOpt = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Words, keywords and phrases per group.")] = 10,
    themes_only: Annotated[bool, typer.Option("--themes", help="Show only the themes table.")] = False,
) -> None:
    """Top words, keywords, sentiment, themes and intents of the feedback comments, by group."""
    from clvlab.text.analyze import analyze_text

    frame, group = feedback_comments(workspace, by)
    if frame.empty:
        msg = "the feedback table holds no comments"
        raise DataValidationError(msg, hint="load feedback with a comment column first (clvlab load feedback ...)")
    result = analyze_text(
        frame, by=group, dates="responded_at" if "responded_at" in frame.columns else None,
        lang=lang.value, top=top,
    )
    if state.json:
        emit_json({"ok": True, "comments": len(frame), "by": by, **result.to_dict()})
        return
    if not themes_only:
        table = new_table(f"Comments by {by}" if by else "Comments",
                          ["group", ("n", "right"), "keywords", "themes", "intents", ("neg %", "right")],
                          show_lines=True)
        for g, row in result.groups.iterrows():
            neg = row.get("negative")
            table.add_row(
                fmt_label(g), fmt_number(row["n"]), ", ".join(row["keywords"][:top]), _short(row["themes"]),
                _short(row["intents"], 5), "-" if neg is None or is_missing(neg) else f"{100 * neg:.0f}",
            )
        out.print(table)
    themes = new_table("Themes", ["theme", "label", ("n", "right"), "keywords"])
    for _, r in result.themes.sort_values("n", ascending=False).iterrows():
        themes.add_row(str(r["theme"]), str(r["label"]), fmt_number(r["n"]), ", ".join(r["keywords"][:6]))
    out.print(themes)
    console.print(f"{len(frame):,} comments analysed")
