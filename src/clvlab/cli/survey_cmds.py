"""``clvlab surveys ...``: define surveys, invite customers with signed links, bring answers home.

``create FILE|NAME`` stores a survey (a YAML file, or a shipped one: nps-after-purchase, csat, ces,
acsi, first-purchase); ``list`` shows them; ``invite SURVEY -w WS --segment S | --stage S |
--first-purchase-days N --channel sms -o links.csv`` makes one signed, expiring link per customer
(skipping anyone asked in the last ``--min-days``); ``export -o FILE`` writes the responses as
feedback rows; ``sync -w WS`` loads them into the workspace's feedback table (``clvlab run
--app-store`` does it too); ``deliver`` retries survey webhooks; ``webhooks add|list|remove``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from clvlab.cli._common import (
    WorkspaceOpt,
    connect_workspace,
    console,
    emit_json,
    new_table,
    state,
    user_errors,
)
from clvlab.cli.cases_cmds import AppStoreOpt

surveys_app = typer.Typer(help="Surveys: definitions, signed invitation links, responses.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Webhook subscribers of survey events (signed with HMAC-SHA256).",
                           no_args_is_help=True)
surveys_app.add_typer(webhooks_app, name="webhooks")


def _store(url: str | None) -> Any:
    from clvlab.store import open_app_store

    return open_app_store(url)


@surveys_app.command("create")
@user_errors
def create(source: Annotated[str, typer.Argument(help="A survey YAML file, or a shipped survey's name.")],
           app_store: AppStoreOpt = None) -> None:
    """Create (or replace) a survey in the app store from a YAML file or a shipped survey."""
    from clvlab.surveys.registry import create_survey

    with _store(app_store) as store:
        survey, created = create_survey(store, source)
    if state.json:
        emit_json({"survey_id": survey.id, "created": created, "questions": len(survey.questions)})
        return
    console.print(f"survey '{survey.id}' {'created' if created else 'updated'}: {len(survey.questions)} questions "
                  f"({', '.join(q.type for q in survey.questions)})", soft_wrap=True)


@surveys_app.command("list")
@user_errors
def list_cmd(app_store: AppStoreOpt = None) -> None:
    """The surveys in the app store with their invitations and responses."""
    from clvlab.surveys.registry import list_surveys

    with _store(app_store) as store:
        rows = list_surveys(store)
    if state.json:
        emit_json(rows)
        return
    table = new_table("surveys", ["survey", "title", "lang", "questions", ("invites", "right"), ("responses", "right")])
    for r in rows:
        table.add_row(r["survey_id"], r["title"], r["language"], ", ".join(r["types"]), str(r["invites"]),
                      str(r["responses"]))
    console.print(table)


@surveys_app.command("invite")
@user_errors
def invite(
    survey: Annotated[str, typer.Argument(help="The survey id (clvlab surveys list).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV of the links, for an SMS/WeChat gateway.")],
    workspace: WorkspaceOpt = None,
    segment: Annotated[str | None, typer.Option("--segment", help="RFM segment of the scores table.")] = None,
    stage: Annotated[str | None, typer.Option("--stage", help="Lifecycle stage of the stages table.")] = None,
    first_purchase_days: Annotated[float | None, typer.Option(
        "--first-purchase-days", help="Customers with one purchase, made within N days of the stages' as_of.")] = None,
    channel: Annotated[str, typer.Option("--channel", help="web, app, wechat, sms or email.")] = "sms",
    touchpoint: Annotated[str | None, typer.Option("--touchpoint", help="Hidden field carried into the responses.")] = None,
    min_days: Annotated[float | None, typer.Option(
        "--min-days", help="Skip customers invited within N days \\[default: $CLVLAB_SURVEY_CONTACT_DAYS or 30].")] = None,
    valid_days: Annotated[float | None, typer.Option(
        "--valid-days", help="Days a link stays valid \\[default: $CLVLAB_SURVEY_LINK_DAYS or 14].")] = None,
    base_url: Annotated[str | None, typer.Option(
        "--base-url", help="Address customers reach \\[default: $CLVLAB_PUBLIC_URL].")] = None,
    app_store: AppStoreOpt = None,
) -> None:
    """One signed, expiring link per customer of a segment or stage, as a CSV for a gateway."""
    from clvlab.settings import get_settings
    from clvlab.surveys.invites import create_invites, link_base, select_customers
    from clvlab.surveys.tokens import link_key

    settings = get_settings()
    key, base = link_key(settings), link_base(base_url)
    with connect_workspace(workspace, read_only=True) as ws:
        customers = select_customers(ws, segment=segment, stage=stage, first_purchase_days=first_purchase_days)
    with _store(app_store) as store:
        batch = create_invites(store, survey, customers, channel=channel, key=key, base_url=base,
                               valid_days=valid_days if valid_days is not None else settings.survey_link_days,
                               min_days=min_days if min_days is not None else settings.survey_contact_days,
                               hidden={"touchpoint": touchpoint} if touchpoint else None)
    output.parent.mkdir(parents=True, exist_ok=True)
    batch.links.to_csv(output, index=False)
    if state.json:
        emit_json({**batch.to_dict(), "output": str(output)})
        return
    console.print(f"{batch}; links written to {output}", soft_wrap=True)


@surveys_app.command("export")
@user_errors
def export(output: Annotated[Path, typer.Option("--output", "-o", help="CSV file of feedback rows.")],
           app_store: AppStoreOpt = None) -> None:
    """Write the responses as feedback rows (load them with clvlab load feedback FILE)."""
    from clvlab.settings import get_settings
    from clvlab.surveys.feedback import response_feedback

    with _store(app_store) as store:
        frame = response_feedback(store, timezone=get_settings().timezone)
    output.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(output, index=False)
    if state.json:
        emit_json({"rows": len(frame), "output": str(output)})
        return
    console.print(f"{len(frame)} feedback rows written to {output}", soft_wrap=True)


@surveys_app.command("sync")
@user_errors
def sync(workspace: WorkspaceOpt = None, app_store: AppStoreOpt = None) -> None:
    """Load the app store's responses into the workspace's feedback table (idempotent)."""
    from clvlab.surveys.feedback import load_responses

    with connect_workspace(workspace, create=True) as ws, _store(app_store) as store:
        report = load_responses(ws, store)
    if state.json:
        emit_json(None if report is None else report.to_dict())
        return
    console.print("no survey responses yet" if report is None else str(report), soft_wrap=True)


@surveys_app.command("deliver")
@user_errors
def deliver(app_store: AppStoreOpt = None) -> None:
    """Send the survey webhooks that are due (failed ones are retried with backoff)."""
    from clvlab.cases.notify import flush_outbox
    from clvlab.surveys.webhooks import SignedWebhookNotifier

    with _store(app_store) as store:
        report = flush_outbox(store, [SignedWebhookNotifier(store)])
    if state.json:
        emit_json({"sent": report.sent, "failed": report.failed, "pending": report.pending})
        return
    console.print(str(report), soft_wrap=True)


@webhooks_app.command("add")
@user_errors
def webhook_add(url: Annotated[str, typer.Argument(help="The receiver's URL.")], app_store: AppStoreOpt = None) -> None:
    """Subscribe a URL to survey events; prints the signing secret once."""
    from clvlab.surveys.webhooks import add_subscriber

    with _store(app_store) as store:
        sub_id, secret = add_subscriber(store, url)
    if state.json:
        emit_json({"id": sub_id, "url": url, "secret": secret})
        return
    console.print(f"webhook {sub_id} -> {url}; signing secret (shown once):", soft_wrap=True)
    print(secret)


@webhooks_app.command("list")
@user_errors
def webhook_list(app_store: AppStoreOpt = None) -> None:
    """Subscribers (never their secrets)."""
    from clvlab.surveys.webhooks import list_subscribers

    with _store(app_store) as store:
        rows = list_subscribers(store)
    if state.json:
        emit_json(rows)
        return
    table = new_table("survey webhooks", [("id", "right"), "url", "active"])
    for r in rows:
        table.add_row(str(r["id"]), r["url"], "yes" if r["active"] else "no")
    console.print(table)


@webhooks_app.command("remove")
@user_errors
def webhook_remove(subscriber: Annotated[int, typer.Argument(help="Subscriber id.")],
                   app_store: AppStoreOpt = None) -> None:
    """Stop sending to a subscriber."""
    from clvlab.surveys.webhooks import remove_subscriber

    with _store(app_store) as store:
        remove_subscriber(store, subscriber)
    if state.json:
        emit_json({"id": subscriber, "active": False})
        return
    console.print(f"webhook {subscriber} removed", soft_wrap=True)
