"""The report's building blocks: a :class:`Chart` (an Apache ECharts option, plain JSON) with the
:class:`Table` of its numbers, and the option builders the sections use.

Options are JSON only; the page's script turns one marker into a function: a custom series with
``"renderItem": "errorbar"`` draws intervals (``[x, low, high]`` rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

#: colours shared by every chart (stage and band colours stay the same across sections)
PALETTE = ["#3b6ea8", "#e08a2e", "#4f9a5a", "#c4473a", "#8a6bb0", "#8c7a5b", "#d07cb0", "#7f7f7f"]
BAND_COLOURS = {"red": "#c4473a", "yellow": "#e3b02e", "green": "#4f9a5a"}
STAGE_COLOURS = {"prospect": "#9aa7b4", "onboarding": "#7fb3d5", "growth": "#3b6ea8", "mature": "#2a4d75",
                 "won_back": "#8a6bb0", "declining": "#e08a2e", "churned": "#c4473a"}
FONT = "system-ui, -apple-system, 'Segoe UI', 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', sans-serif"


@dataclass
class Table:
    """A table of preformatted cells; ``numeric[i]`` right-aligns column ``i``."""

    caption: str
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.numeric:
            self.numeric = [False] + [True] * (len(self.columns) - 1)


@dataclass
class Chart:
    """One chart: its id (the container's), title, ECharts option, height and its numbers."""

    id: str
    title: str
    option: dict[str, Any]
    table: Table
    height: int = 320


def base(title: str = "", **extra: Any) -> dict[str, Any]:
    """Options every chart shares: font, palette, tooltip, a grid leaving room for axis names."""
    option: dict[str, Any] = {
        "animation": False,
        "color": PALETTE,
        "textStyle": {"fontFamily": FONT},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 72, "right": 28, "top": 40, "bottom": 64, "containLabel": False},
    }
    if title:
        option["title"] = {"text": title, "left": 0, "textStyle": {"fontSize": 14, "fontWeight": 600}}
    option.update(extra)
    return option


def value_axis(name: str, *, percent: bool = False, **extra: Any) -> dict[str, Any]:
    axis: dict[str, Any] = {"type": "value", "name": name, "nameLocation": "middle", "nameGap": 52,
                            "splitLine": {"lineStyle": {"color": "#e6e6e6"}}}
    if percent:
        axis["axisLabel"] = {"formatter": "{value}%"}
    axis.update(extra)
    return axis


def category_axis(names: list[str], title: str = "", *, rotate: int = 0, **extra: Any) -> dict[str, Any]:
    axis: dict[str, Any] = {"type": "category", "data": names, "name": title, "nameLocation": "middle",
                            "nameGap": 40 if not rotate else 56, "axisLabel": {"interval": 0, "rotate": rotate}}
    axis.update(extra)
    return axis


def bars(categories: list[str], values: list[float | None], *, x_name: str = "", y_name: str = "",
         colours: list[str] | None = None, percent: bool = False, labels: list[str] | None = None,
         rotate: int = 0) -> dict[str, Any]:
    """A vertical bar chart, one bar per category (``colours`` per bar, ``labels`` on top)."""
    data: list[Any] = []
    for i, v in enumerate(values):
        item: dict[str, Any] = {"value": v}
        if colours:
            item["itemStyle"] = {"color": colours[i]}
        if labels:
            item["label"] = {"show": True, "position": "top", "formatter": labels[i]}
        data.append(item)
    option = base(xAxis=category_axis(categories, x_name, rotate=rotate),
                  yAxis=value_axis(y_name, percent=percent),
                  series=[{"type": "bar", "data": data, "barMaxWidth": 56, "name": y_name}])
    if rotate:
        option["grid"]["bottom"] = 88
    return option


def horizontal_bars(categories: list[str], values: list[float], *, x_name: str = "") -> dict[str, Any]:
    """Horizontal bars, the first category on top."""
    option = base(xAxis=value_axis(x_name, nameGap=30),
                  yAxis={"type": "category", "data": categories, "inverse": True,
                         "axisLabel": {"interval": 0, "width": 110, "overflow": "truncate"}},
                  series=[{"type": "bar", "data": values, "barMaxWidth": 18, "name": x_name,
                           "itemStyle": {"color": BAND_COLOURS["red"]}}])
    option["grid"].update(left=130, bottom=48)
    return option


def grouped_bars(categories: list[str], series: dict[str, list[float | None]], *, x_name: str = "",
                 y_name: str = "", percent: bool = False, colours: list[str] | None = None) -> dict[str, Any]:
    """Bars side by side: one series per key of ``series``."""
    option = base(xAxis=category_axis(categories, x_name), yAxis=value_axis(y_name, percent=percent),
                  legend={"top": 0, "right": 0},
                  series=[{"type": "bar", "name": name, "data": values, "barMaxWidth": 40}
                          for name, values in series.items()])
    if colours:
        option["color"] = colours
    return option


def lines(x: list[str], series: dict[str, list[float]], *, x_name: str = "", y_name: str = "",
          mark_x: str | None = None) -> dict[str, Any]:
    """Line chart, one line per key of ``series``."""
    option = base(xAxis={"type": "category", "data": x, "name": x_name, "nameLocation": "middle", "nameGap": 40,
                         "boundaryGap": False},
                  yAxis=value_axis(y_name), legend={"top": 0, "right": 0},
                  series=[{"type": "line", "name": name, "data": values, "showSymbol": False,
                           "lineStyle": {"width": 2.5, "type": "dashed" if i == 0 else "solid"}}
                          for i, (name, values) in enumerate(series.items())])
    option["tooltip"] = {"trigger": "axis"}
    if mark_x is not None:
        option["series"][0]["markLine"] = {"symbol": "none", "data": [{"xAxis": mark_x}]}
    return option


def heatmap(x: list[str], y: list[str], cells: Sequence[Sequence[float | None]], *, x_name: str = "",
            y_name: str = "", colour: Sequence[Sequence[float | None]] | None = None, high: float | None = None,
            legend: tuple[str, str] = ("", ""), fmt: str = "{:,.0f}", show_labels: bool = True) -> dict[str, Any]:
    """A heat map of ``cells[row][column]`` (None: empty), rows ``y`` top to bottom.

    Each cell is labelled with its value (``fmt``) and coloured by ``colour`` (default: the
    values), capped at ``high``; ``legend`` labels the two ends of the colour scale.
    """
    shade = colour if colour is not None else cells
    values = [v for row in shade for v in row if v is not None]
    top = high if high is not None else max(values, default=1.0) or 1.0
    data = [{"value": [j, i, min(float(shade[i][j] or 0.0), top)],
             "label": {"formatter": fmt.format(v)}}
            for i, row in enumerate(cells) for j, v in enumerate(row) if v is not None]
    option = base(
        tooltip={"show": False},
        xAxis={"type": "category", "data": x, "name": x_name, "nameLocation": "middle", "nameGap": 30,
               "splitArea": {"show": True}, "position": "bottom", "axisLabel": {"interval": 0}},
        yAxis={"type": "category", "data": y, "name": y_name, "inverse": True, "splitArea": {"show": True},
               "axisLabel": {"interval": 0}},  # every row and column named: ECharts skips some by default
        visualMap={"min": 0, "max": top, "dimension": 2, "calculable": False, "orient": "horizontal",
                   "left": "center", "bottom": 0, "itemHeight": 180,
                   "inRange": {"color": ["#f4f8fc", "#9ec3e4", "#2a5d93"]},
                   "text": [legend[1] or f"{top:,.0f}", legend[0] or "0"]},
        series=[{"type": "heatmap", "data": data, "label": {"show": show_labels, "fontSize": 11},
                 "emphasis": {"itemStyle": {"borderColor": "#333", "borderWidth": 1}}}],
    )
    option["grid"].update(left=110, bottom=96, top=16)
    return option


def with_intervals(categories: list[str], values: list[float], lower: list[float], upper: list[float], *,
                   x_name: str = "", y_name: str = "", colours: list[str] | None = None) -> dict[str, Any]:
    """Points with interval bars (the page's ``errorbar`` custom series)."""
    points = [{"value": v, "label": {"formatter": f"{v:+.1f}"},
               **({"itemStyle": {"color": colours[i]}} if colours else {})} for i, v in enumerate(values)]
    option = base(
        xAxis=category_axis(categories, x_name), yAxis=value_axis(y_name, scale=True),
        series=[
            {"type": "custom", "name": "95%", "renderItem": "errorbar", "encode": {"x": 0, "y": [1, 2]},
             "data": [[i, lo, hi] for i, (lo, hi) in enumerate(zip(lower, upper, strict=True))], "z": 1},
            {"type": "scatter", "name": y_name, "data": points, "symbolSize": 14, "z": 2,
             "label": {"show": True, "position": "right", "distance": 10, "fontWeight": 600}},
        ],
    )
    option["tooltip"] = {"trigger": "item"}
    return option
