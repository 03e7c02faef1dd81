"""The Typer application: global options and command registration."""

from __future__ import annotations

from typing import Annotated

import typer

from clvlab import __version__
from clvlab.cli import (
    access_cmds,
    actions_cmds,
    cases_cmds,
    churn_cmds,
    data_cmds,
    demo,
    economics_cmds,
    experiment_cmds,
    leads_cmds,
    lifecycle_cmds,
    model_cmds,
    recommend_cmds,
    report_cmds,
    run_cmds,
    serve_cmd,
    survey_cmds,
    voc_cmds,
    voc_text_cmds,
)
from clvlab.cli._common import state

app = typer.Typer(
    name="clvlab",
    help="Customer lifetime value and voice of the customer, on DuckDB.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"clvlab {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Customer lifetime value and voice of the customer, on DuckDB."""
    state.json = json_output
    state.debug = debug


app.command("demo")(demo.demo)
app.command("load")(data_cmds.load)
app.command("run")(run_cmds.run)
app.command("rfm")(data_cmds.rfm)
app.command("fit")(model_cmds.fit)
app.command("score")(model_cmds.score)
app.command("evaluate")(model_cmds.evaluate)
app.command("cohorts")(economics_cmds.cohorts)
app.command("economics")(economics_cmds.economics)
app.command("lifecycle")(lifecycle_cmds.lifecycle)
app.command("health")(lifecycle_cmds.health)
app.command("leads")(leads_cmds.leads)
app.command("report")(report_cmds.report)

voc = typer.Typer(help="Voice of the customer: NPS/CSAT/CES, comments, drivers.", no_args_is_help=True)
voc.command("metrics")(voc_cmds.voc_metrics)
voc.command("drivers")(voc_cmds.voc_drivers)
voc.command("text")(voc_text_cmds.voc_text)
app.add_typer(voc, name="voc")
app.add_typer(cases_cmds.cases_app, name="cases")
app.add_typer(cases_cmds.alerts_app, name="alerts")
app.add_typer(churn_cmds.churn_app, name="churn")
app.add_typer(experiment_cmds.experiment_app, name="experiment")
app.add_typer(access_cmds.db_app, name="db")
app.add_typer(access_cmds.users_app, name="users")
app.add_typer(access_cmds.tokens_app, name="tokens")
app.command("serve")(serve_cmd.serve)
app.command("actions")(actions_cmds.actions)
app.command("promoters")(actions_cmds.promoters)
app.command("recommend")(recommend_cmds.recommend)
app.add_typer(survey_cmds.surveys_app, name="surveys")
