"""``clvlab recommend``: cross-sell items per customer or per product, and their evaluation."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

import typer

from clvlab.cli._common import (
    WorkspaceOpt,
    connect_workspace,
    console,
    emit_json,
    fmt_number,
    new_table,
    out,
    state,
    user_errors,
)


class Level(StrEnum):
    """What an item is."""

    product = "product"
    category = "category"


@user_errors
def recommend(
    workspace: WorkspaceOpt = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Items to offer this customer.")] = None,
    product: Annotated[str | None, typer.Option("--product", help="Items bought with this product (or category).")] = None,
    evaluate: Annotated[bool, typer.Option("--evaluate", help="Precision@k and recall@k on a time split, against popularity.")] = False,
    k: Annotated[int, typer.Option("--top", "-k", min=1, help="Items per list (k).")] = 10,
    level: Annotated[Level, typer.Option("--level", help="An item is a product_id or a category.")] = Level.product,
    half_life: Annotated[float | None, typer.Option("--half-life-days", help="Time decay: a purchase this many days old counts half \\[default: no decay].")] = None,
    min_support: Annotated[int, typer.Option("--min-support", min=1, help="Customers who bought both items, at least.")] = 3,
    split: Annotated[str | None, typer.Option("--split", help="First day of the test period (--evaluate) \\[default: 80% of the way].")] = None,
) -> None:
    """Cross-sell items with their lift (item-item co-occurrence with a time decay); --evaluate measures them."""
    from clvlab.actions.crosssell import evaluate_recommendations, recommend_items
    from clvlab.errors import ParameterError

    if sum((customer is not None, product is not None, evaluate)) != 1:
        msg = "recommend needs exactly one of --customer C, --product P or --evaluate"
        raise ParameterError(msg)
    lvl: Literal["product", "category"] = "product" if level is Level.product else "category"
    with connect_workspace(workspace, read_only=True) as ws:
        if evaluate:
            result = evaluate_recommendations(ws, k=k, split=split, level=lvl, half_life_days=half_life,
                                              min_support=min_support)
        else:
            frame = recommend_items(ws, customer=customer, product=product, k=k, level=lvl,
                                    half_life_days=half_life, min_support=min_support)
    if evaluate:
        if state.json:
            emit_json(result.to_dict())
            return
        table = new_table(f"Recommendations at k={result.k}, trained before {result.split:%Y-%m-%d}",
                          ["", ("precision@k", "right"), ("recall@k", "right")])
        table.add_row("co-occurrence", f"{result.precision:.4f}", f"{result.recall:.4f}")
        table.add_row("popularity", f"{result.precision_popularity:.4f}", f"{result.recall_popularity:.4f}")
        out.print(table)
        console.print(result.summary, soft_wrap=True)
        return
    if state.json:
        emit_json({**dict(frame.attrs.items()), "items": frame.to_dict(orient="records")})
        return
    if product is not None:
        table = new_table(f"Bought with {level.value} {product} ({frame.attrs['customers']:,} customers)",
                          [level.value, ("lift", "right"), ("confidence", "right"), ("customers", "right")])
        for r in frame.to_dict(orient="records"):
            table.add_row(str(r["item"]), f"{r['lift']:.2f}", f"{r['confidence']:.1%}", fmt_number(int(r["support"])))
    else:
        table = new_table(f"Cross-sell for customer {customer}",
                          [("#", "right"), level.value, ("score", "right"), "because of", ("lift", "right"), "source"])
        for r in frame.to_dict(orient="records"):
            table.add_row(str(r["rank"]), str(r["item"]), fmt_number(r["score"], ".3g"), fmt_number(r["because"]),
                          fmt_number(r["lift"], ".2f"), str(r["source"]))
    out.print(table)
