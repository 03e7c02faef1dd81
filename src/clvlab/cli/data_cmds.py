"""``clvlab load`` and ``clvlab rfm``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

import typer

from clvlab.cli._common import (
    WorkspaceOpt,
    connect_workspace,
    console,
    emit_json,
    parse_mapping,
    state,
    user_errors,
    write_frame,
)
from clvlab.errors import DataValidationError, ParameterError

MapOpt = Annotated[
    list[str] | None,
    typer.Option("--map", "-m", help="CANONICAL=COLUMN, repeatable, e.g. --map ordered_at=date."),
]


class Freq(StrEnum):
    """Time units of the RFM summary and the models."""

    D = "D"
    W = "W"
    M = "M"


FreqOpt = Annotated[Freq, typer.Option("--freq", help="Time unit: D (day), W (week) or M (month).")]
#: --freq where the unit can come from an RFM file or a model file
UnitOpt = Annotated[
    Freq | None,
    typer.Option("--freq", help="Time unit: D (day), W (week) or M (month) \\[default: the RFM file's "
                 "time_unit column, else the model's unit, else W]."),
]


def freq_value(freq: Freq) -> Literal["D", "W", "M"]:
    """The option's value as the features' literal type."""
    return freq.value


class RefundRule(StrEnum):
    """How refunds are netted against the purchases they undo (clvlab.data.refunds)."""

    net = "net"
    order = "order"
    drop = "drop"


class Table(StrEnum):
    transactions = "transactions"
    customers = "customers"
    feedback = "feedback"
    marketing_spend = "marketing_spend"
    events = "events"
    experiments = "experiments"


def parse_scales(pairs: list[str] | None) -> dict[str, list[float]]:
    """``['csat=0-10']`` -> ``{'csat': [0.0, 10.0]}``."""
    scales: dict[str, list[float]] = {}
    for metric, bounds in parse_mapping(pairs).items():
        low, _, high = bounds.partition("-")
        try:
            scales[metric] = [float(low), float(high)]
        except ValueError:
            msg = f"--scale expects METRIC=LOW-HIGH (e.g. --scale csat=0-10). Got {metric}={bounds!r} instead."
            raise ParameterError(msg) from None
    return scales



@user_errors
def load(
    table: Annotated[Table, typer.Argument(help="Which table of the data contract to load into.")],
    source: Annotated[str, typer.Argument(help="CSV/TSV/whitespace text/Excel .xlsx/Parquet file (read as named), or postgres://...?table=NAME.")],
    workspace: WorkspaceOpt = None,
    mapping: MapOpt = None,
    config: Annotated[Path | None, typer.Option("--config", help="YAML/TOML file with mapping and format options.")] = None,
    date_format: Annotated[str | None, typer.Option("--date-format", help="strptime format, e.g. '%d/%m/%Y'.")] = None,
    timezone: Annotated[str | None, typer.Option("--timezone", help="Business time zone, e.g. Asia/Shanghai.")] = None,
    sep: Annotated[str | None, typer.Option("--sep", help="Field separator; 'whitespace' for aligned text.")] = None,
    decimal: Annotated[str | None, typer.Option("--decimal", help="Decimal mark in amounts: '.' or ',' \\[default: '.'].")] = None,
    merge_duplicates: Annotated[bool, typer.Option("--merge-duplicates", help="Merge exact duplicate rows.")] = False,
    rejects: Annotated[Path | None, typer.Option("--rejects", help="Where to write rejected rows (CSV).")] = None,
    scale: Annotated[
        list[str] | None,
        typer.Option("--scale", help="Feedback: METRIC=LOW-HIGH, repeatable, e.g. --scale csat=0-10."),
    ] = None,
    refunds: Annotated[
        RefundRule | None,
        typer.Option("--refunds", help="Transactions: net refunds against their order by order id, "
                     "else customer+product (net), by order id only (order), or not (drop) \\[default: net]."),
    ] = None,
    encoding: Annotated[str | None, typer.Option("--encoding", help="Text encoding, e.g. gb18030, cp1252 \\[default: detected: UTF-8, UTF-16 with BOM, GB18030/GBK].")] = None,
    glob: Annotated[bool, typer.Option("--glob", help="SOURCE is a pattern (sales*.csv): load each matching file in turn.")] = False,
) -> None:
    """Load a file or table into the workspace: validated, idempotent, rejects kept aside."""
    sources = expand_glob(source, rejects) if glob else [source]
    reports = []
    with connect_workspace(workspace, create=True) as ws:
        for src in sources:
            reports.append(ws.load(
                table.value, src, mapping=parse_mapping(mapping) or None, config=config,
                date_format=date_format, timezone=timezone, sep=sep, decimal=decimal,
                merge_duplicates=merge_duplicates, rejects=rejects, progress=not state.json,
                scales=parse_scales(scale) or None, refunds=refunds.value if refunds else None,
                encoding=encoding,
            ))
            if not state.json:
                console.print(str(reports[-1]), highlight=False)
    if state.json:
        emit_json(reports[0].to_dict() if not glob else [r.to_dict() for r in reports])


def expand_glob(pattern: str, rejects: Path | None) -> list[str]:
    """The files matching ``pattern`` (sorted), for ``load --glob``."""
    import glob as globbing

    files = sorted(f for f in globbing.glob(str(Path(pattern).expanduser())) if Path(f).is_file())
    if not files:
        msg = f"--glob: no file matches '{pattern}'"
        raise DataValidationError(msg, hint="check the pattern (quote it so the shell leaves it)")
    if rejects is not None and len(files) > 1:
        msg = (f"--rejects names one file but '{pattern}' matches {len(files)} files; leave it "
               "out (each file gets its own rejects file)")
        raise ParameterError(msg)
    return files


@user_errors
def rfm(
    workspace: WorkspaceOpt = None,
    freq: FreqOpt = Freq.W,
    observation_end: Annotated[str | None, typer.Option("--observation-end", help="Last date observed \\[default: latest in data].")] = None,
    calibration_end: Annotated[str | None, typer.Option("--calibration-end", help="Also split into calibration/holdout at this date.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write .csv/.parquet/.json here instead of stdout.")] = None,
) -> None:
    """Recency, frequency, T and monetary value per customer (lifetimes' semantics).

    Files carry the time unit in a column 'time_unit' (and the observation end beside it), so
    'clvlab fit' and 'clvlab score' read the RFM in the unit it was computed in.
    """
    from clvlab.features.rfm import calibration_holdout, rfm_summary
    from clvlab.features.units import with_unit_columns

    with connect_workspace(workspace) as ws:
        if calibration_end:
            frame = calibration_holdout(ws, calibration_end=calibration_end, observation_end=observation_end,
                                        freq=freq_value(freq))
        else:
            frame = rfm_summary(ws, freq=freq_value(freq), observation_end=observation_end)
    write_frame(with_unit_columns(frame), output, "json" if state.json else "csv")
    if output is not None:
        console.print(f"{len(frame):,} customers written to {output} (time unit {frame.attrs['freq']}; "
                      "spend net of the refunds linked to their orders at load, see 'load --refunds'; "
                      "refunds linked to no order left out)")
