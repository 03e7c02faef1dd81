"""``clvlab voc text``: top words, keywords, sentiment, themes and intents of the feedback comments."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from clvlab.cli._common import WorkspaceOpt, console, emit_json, out, state, user_errors
from clvlab.errors import DataValidationError


class LangChoice(StrEnum):
    """Language of the comments."""

    auto = "auto"
    zh = "zh"
    en = "en"


def feedback_comments(workspace: Path | None, by: str | None) -> pd.DataFrame:
    """The non-empty comments of the workspace's feedback table (with ``by`` and ``responded_at``)."""
    from clvlab.data.workspace import connect

    with connect(workspace, read_only=True) as ws:
        table = ws.table("feedback")
        cols = list(table.columns)
        if "comment" not in cols:
            msg = "the feedback table has no 'comment' column"
            raise DataValidationError(msg, hint="load feedback with --map comment=<your comment column>")
        if by is not None and by not in cols:
            msg = f"--by {by!r} is not a column of the feedback table (columns: {', '.join(cols)})"
            raise DataValidationError(msg, hint="use e.g. --by touchpoint, --by store_id or --by channel")
        keep = ["comment", *([by] if by else []), *(["responded_at"] if "responded_at" in cols else [])]
        expr = table.select(*dict.fromkeys(keep)).filter(table.comment.notnull())
        frame: pd.DataFrame = expr.to_pandas()
    return frame[frame["comment"].astype(str).str.strip() != ""].reset_index(drop=True)


def _short(d: dict[str, Any], k: int = 4) -> str:
    return ", ".join(f"{key} {val}" for key, val in list(d.items())[:k])


@user_errors
def voc_text(
    by: Annotated[str | None, typer.Option("--by", help="Group comments by this feedback column, e.g. touchpoint.")] = None,
    lang: Annotated[LangChoice, typer.Option("--lang", help="auto (per comment), zh or en.")] = LangChoice.auto,
    workspace: WorkspaceOpt = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Words, keywords and phrases per group.")] = 10,
    themes_only: Annotated[bool, typer.Option("--themes", help="Show only the themes table.")] = False,
) -> None:
    """Top words, keywords, sentiment, themes and intents of the feedback comments, by group."""
    from clvlab.text.analyze import analyze_text

    frame = feedback_comments(workspace, by)
    if frame.empty:
        msg = "the feedback table holds no comments"
        raise DataValidationError(msg, hint="load feedback with a comment column first (clvlab load feedback ...)")
    result = analyze_text(
        frame, by=by, dates="responded_at" if "responded_at" in frame.columns else None,
        lang=lang.value, top=top,
    )
    if state.json:
        emit_json({"ok": True, "comments": len(frame), "by": by, **result.to_dict()})
        return
    if not themes_only:
        table = Table(title=f"Comments by {by}" if by else "Comments", show_lines=True)
        for col in ("group", "n", "keywords", "themes", "intents", "neg %"):
            table.add_column(col, overflow="fold")
        for g, row in result.groups.iterrows():
            neg = row.get("negative")
            table.add_row(
                str(g), str(row["n"]), ", ".join(row["keywords"][:top]), _short(row["themes"]),
                _short(row["intents"], 5), "-" if neg is None or pd.isna(neg) else f"{100 * neg:.0f}",
            )
        out.print(table)
    themes = Table(title="Themes")
    for col in ("theme", "label", "n", "keywords"):
        themes.add_column(col, overflow="fold")
    for _, r in result.themes.sort_values("n", ascending=False).iterrows():
        themes.add_row(str(r["theme"]), str(r["label"]), str(r["n"]), ", ".join(r["keywords"][:6]))
    out.print(themes)
    console.print(f"{len(frame)} comments analysed", highlight=False)
