"""Every category of a chart is named: ECharts skipped every other label of a crowded axis (the
stage-flow heat map showed prospect, mature, declining only) and ran long names into each other."""

from __future__ import annotations

from clvlab.report import charts

STAGES = ["prospect", "onboarding", "growth", "mature", "won back", "declining", "churned"]


def test_heatmap_names_every_row_and_column() -> None:
    option = charts.heatmap(STAGES, STAGES, [[1.0] * 7] * 7)
    assert option["xAxis"]["axisLabel"]["interval"] == 0
    assert option["yAxis"]["axisLabel"]["interval"] == 0
