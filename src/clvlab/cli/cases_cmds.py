"""``clvlab cases ...`` and ``clvlab alerts run``: the closed loop from the command line.

The lead registers these functions (or the ready-made ``cases_app`` / ``alerts_app`` sub-apps)
in ``cli/app.py``.  Every command finds the application store the same way: ``--app-store URL``,
else the settings (:meth:`clvlab.settings.Settings.app_store_url`: ``$CLVLAB_APP_STORE``, else
``clvlab-app.sqlite`` beside the configured workspace); ``--workspace`` never moves it, so
``cases owners load`` and ``alerts run -w shop.duckdb`` write to one store.
"""

from __future__ import annotations

import getpass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from clvlab.cli._common import WorkspaceOpt, console, emit_json, out, state, user_errors

AppStoreOpt = Annotated[str | None, typer.Option(
    "--app-store",
    help="App store URL: sqlite:///file.sqlite or postgresql+psycopg://... "
         "\\[default: $CLVLAB_APP_STORE, else clvlab-app.sqlite beside $CLVLAB_WORKSPACE or ./clvlab.duckdb].")]
ActorOpt = Annotated[str | None, typer.Option("--actor", help="Who makes the change \\[default: $USER].")]
NoteOpt = Annotated[str | None, typer.Option("--note", help="A note for the history.")]
CaseArg = Annotated[int, typer.Argument(help="Case id (see clvlab cases list).")]
SmtpOpt = Annotated[str | None, typer.Option(
    "--smtp", help="SMTP server HOST:PORT for e-mail notifications \\[default: $CLVLAB_SMTP].")]
SmtpFromOpt = Annotated[str | None, typer.Option(
    "--smtp-from", help="Sender address of e-mail notifications \\[default: $CLVLAB_SMTP_FROM or clvlab@localhost].")]


class State(StrEnum):
    """Case states."""

    open = "open"
    in_progress = "in_progress"
    resolved = "resolved"
    closed = "closed"
    held_out = "held_out"  # the closed-loop holdout: on record, uncontacted


def _store(url: str | None) -> Any:
    """The application store: ``--app-store``, else the settings' one (never derived from ``-w``)."""
    from clvlab.store import open_app_store

    return open_app_store(url)


def _workspace(workspace: Path | None) -> str:
    """The workspace of a command that reads it: ``--workspace``, else the settings' one."""
    from clvlab.settings import get_settings

    return str(workspace) if workspace is not None else get_settings().workspace


def _zone() -> Any:
    """The business time zone times are shown in (stored times are UTC)."""
    from zoneinfo import ZoneInfo

    from clvlab.settings import get_settings

    return ZoneInfo(get_settings().timezone)


def _when(value: datetime, zone: Any, *, seconds: bool = False) -> str:
    return f"{value.astimezone(zone):%Y-%m-%d %H:%M{':%S' if seconds else ''}}"


def _actor(actor: str | None) -> str:
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "cli"


def _notifiers(smtp: str | None, sender: str | None) -> list[Any]:
    from clvlab.cases.notify import SMTPNotifier, WebhookNotifier
    from clvlab.errors import ParameterError
    from clvlab.settings import get_settings

    settings = get_settings()
    smtp = smtp or settings.smtp
    found: list[Any] = [WebhookNotifier()]
    if smtp:
        host, _, port = smtp.rpartition(":")
        if not host or not port.isdigit():
            msg = f"--smtp expects HOST:PORT (e.g. --smtp mail.example.com:25). Got {smtp!r} instead."
            raise ParameterError(msg)
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        found.append(SMTPNotifier(host, int(port), sender=sender or settings.smtp_from,
                                  username=settings.smtp_user, password=password))
    return found


def _case_json(view: Any) -> dict[str, Any]:
    return view.to_dict()


def _print_case(view: Any) -> None:
    console.print(f"case {view.id}: {view.state} ({view.priority}, SLA {view.sla_state}), "
                  f"owner {view.owner_id or '-'}", highlight=False)


@user_errors
def cases_list(
    owner: Annotated[str | None, typer.Option("--owner", help="Only this owner's cases.")] = None,
    state_: Annotated[list[State] | None, typer.Option("--state", help="Only cases in this state (repeatable).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many cases.")] = None,
    app_store: AppStoreOpt = None,
) -> None:
    """Cases, oldest first, with their SLA state (ok / due soon / overdue; met / missed once contacted)."""
    from clvlab.cases.service import CaseService

    with _store(app_store) as store:
        views = CaseService(store).list_cases(
            owner=owner, state=[s.value for s in state_] if state_ else None, limit=limit)
    if state.json:
        emit_json([_case_json(v) for v in views])
        return
    zone = _zone()
    table = Table("id", "opened", "state", "prio", "SLA", "due", "owner", "store", "metric", "score", "reasons",
                  caption=f"times in {zone}")
    for v in views:
        table.add_row(str(v.id), _when(v.opened_at, zone), v.state, v.priority, v.sla_state,
                      _when(v.due_at, zone), v.owner_id or "-", v.store_id or "-", v.metric or "-",
                      "" if v.score is None else f"{v.score:g}", v.reasons)
    out.print(table)
    console.print(f"{len(views)} cases")


@user_errors
def cases_show(case_id: CaseArg, app_store: AppStoreOpt = None) -> None:
    """One case with its full history and re-surveys."""
    from clvlab.cases.service import CaseService

    with _store(app_store) as store:
        svc = CaseService(store)
        view, history, surveys = svc.get(case_id), svc.history(case_id), svc.resurveys(case_id)
    if state.json:
        emit_json({**_case_json(view), "history": [h.__dict__ for h in history],
                   "resurveys": [r.__dict__ for r in surveys]})
        return
    for key, value in view.to_dict().items():
        out.print(f"{key:>17}: {'' if value is None else value}", highlight=False)
    zone = _zone()
    table = Table("at", "actor", "action", "from", "to", "note", title="history", caption=f"times in {zone}")
    for h in history:
        table.add_row(_when(h.at, zone, seconds=True), h.actor, h.action, h.from_state or "", h.to_state or "", h.note or "")
    out.print(table)
    for r in surveys:
        out.print(f"re-survey {r.link} created {r.created_at:%Y-%m-%d %H:%M}, score {r.score}", highlight=False)


def _change(action: str, case_id: int, app_store: str | None, **kwargs: Any) -> None:
    from clvlab.cases.service import CaseService

    with _store(app_store) as store:
        view = getattr(CaseService(store), action)(case_id, **kwargs)
    if state.json:
        emit_json(_case_json(view))
    else:
        _print_case(view)


@user_errors
def cases_assign(
    case_id: CaseArg,
    owner: Annotated[str, typer.Option("--owner", help="owner_id of the new owner.")],
    note: NoteOpt = None, actor: ActorOpt = None, app_store: AppStoreOpt = None,
) -> None:
    """Give a case to another owner (notified through the outbox)."""
    _change("assign", case_id, app_store, owner_id=owner, note=note, actor=_actor(actor))


@user_errors
def cases_start(case_id: CaseArg, note: NoteOpt = None, actor: ActorOpt = None,
                app_store: AppStoreOpt = None) -> None:
    """The customer was contacted: open -> in_progress."""
    _change("start", case_id, app_store, note=note, actor=_actor(actor))


@user_errors
def cases_resolve(
    case_id: CaseArg,
    root_cause: Annotated[str | None, typer.Option("--root-cause", help="e.g. delivery, product, staff, price.")] = None,
    note: NoteOpt = None, actor: ActorOpt = None, app_store: AppStoreOpt = None,
) -> None:
    """in_progress -> resolved, with the root cause."""
    _change("resolve", case_id, app_store, root_cause=root_cause, note=note, actor=_actor(actor))


@user_errors
def cases_close(case_id: CaseArg, note: NoteOpt = None, actor: ActorOpt = None,
                app_store: AppStoreOpt = None) -> None:
    """resolved -> closed."""
    _change("close", case_id, app_store, note=note, actor=_actor(actor))


@user_errors
def cases_reopen(case_id: CaseArg, note: NoteOpt = None, actor: ActorOpt = None,
                 app_store: AppStoreOpt = None) -> None:
    """resolved or closed -> open."""
    _change("reopen", case_id, app_store, note=note, actor=_actor(actor))


@user_errors
def cases_note(case_id: CaseArg, text: Annotated[str, typer.Argument(help="The note.")], actor: ActorOpt = None,
               app_store: AppStoreOpt = None) -> None:
    """Add a note to a case's history."""
    _change("add_note", case_id, app_store, note=text, actor=_actor(actor))


@user_errors
def cases_resurvey(case_id: CaseArg, actor: ActorOpt = None, app_store: AppStoreOpt = None) -> None:
    """Create a re-survey (token and link) for a resolved or closed case."""
    from clvlab.cases.service import CaseService

    with _store(app_store) as store:
        survey = CaseService(store).resurvey(case_id, actor=_actor(actor))
    if state.json:
        emit_json(survey.__dict__)
    else:
        out.print(survey.link, highlight=False)


@user_errors
def cases_resurvey_answer(
    case_id: CaseArg,
    score: Annotated[float, typer.Argument(help="The customer's new score, on the case's metric scale.")],
    response_id: Annotated[str | None, typer.Option("--response-id", help="Id of the answer, if it has one.")] = None,
    actor: ActorOpt = None, app_store: AppStoreOpt = None,
) -> None:
    """Record the answer to a case's re-survey (counted by clvlab cases recovery)."""
    from clvlab.cases.service import CaseService

    with _store(app_store) as store:
        survey = CaseService(store).answer_resurvey(case_id, score, response_id=response_id, actor=_actor(actor))
    if state.json:
        emit_json(survey.__dict__)
    else:
        console.print(f"case {case_id}: re-survey answered with {survey.score:g}", highlight=False)


@user_errors
def cases_recovery(
    workspace: WorkspaceOpt = None,
    window_days: Annotated[int, typer.Option("--window-days", help="Repurchase window after the response.")] = 90,
    all_cases: Annotated[bool, typer.Option("--all-cases", help="Every case, not only NPS detractors.")] = False,
    app_store: AppStoreOpt = None,
) -> None:
    """Recovery: contact within SLA, time to contact/resolve, re-survey change, repurchase."""
    from clvlab.cases.recovery import recovery_report
    from clvlab.data.workspace import connect

    target = _workspace(workspace)
    with _store(app_store) as store:
        if "://" in target or Path(target).exists():
            with connect(target, read_only="://" not in target) as ws:
                report = recovery_report(store, ws, window_days=window_days, detractors_only=not all_cases)
        else:
            report = recovery_report(store, None, window_days=window_days, detractors_only=not all_cases)
    if state.json:
        emit_json(report.to_dict())
    else:
        out.print(str(report), highlight=False)


@user_errors
def cases_owners_load(
    file: Annotated[Path, typer.Argument(help="CSV: owner_id, name, email, webhook, store_id, product_id[, default].")],
    default: Annotated[str | None, typer.Option("--default", help="owner_id who gets cases nobody owns.")] = None,
    app_store: AppStoreOpt = None,
) -> None:
    """Load (upsert) the owners table; cases that had no owner get the one it names."""
    from clvlab.cases.owners import load_owners
    from clvlab.cases.service import CaseService

    with _store(app_store) as store:
        report = load_owners(store, file, default=default)
        assigned = CaseService(store).assign_unowned(actor=_actor(None))
    if state.json:
        emit_json({**report.__dict__, "assigned": assigned})
    else:
        console.print(str(report) + (f"; {assigned} earlier cases given their owner" if assigned else ""),
                      highlight=False)


@user_errors
def cases_notify(smtp: SmtpOpt = None, smtp_from: SmtpFromOpt = None,
                 app_store: AppStoreOpt = None) -> None:
    """Deliver the notifications waiting in the outbox (failed ones are kept for a later run)."""
    from clvlab.cases.notify import flush_outbox

    with _store(app_store) as store:
        report = flush_outbox(store, _notifiers(smtp, smtp_from))
    if state.json:
        emit_json(report.__dict__)
    else:
        console.print(str(report), highlight=False)


@user_errors
def alerts_run(
    workspace: WorkspaceOpt = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="YAML/TOML file with rules, priority, sla_hours.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only responses from this date on.")] = None,
    notify: Annotated[bool, typer.Option("--notify/--no-notify", help="Send notifications now.")] = True,
    smtp: SmtpOpt = None, smtp_from: SmtpFromOpt = None,
    app_store: AppStoreOpt = None,
) -> None:
    """Evaluate the alert rules over the workspace feedback and open cases for the owners."""
    from clvlab.cases.alerts import run_alerts
    from clvlab.cases.rules import load_alert_config
    from clvlab.data.workspace import connect

    config = load_alert_config(rules)
    notifiers = _notifiers(smtp, smtp_from) if notify else []
    with _store(app_store) as store, connect(_workspace(workspace), read_only=True) as ws:
        report = run_alerts(ws, store, config=config, notifiers=notifiers, since=since)
    if state.json:
        emit_json({"responses": report.responses, "matched": report.matched, "by_rule": report.by_rule,
                   "opened": report.opened.opened, "already_open": report.opened.already_open,
                   "unassigned": report.opened.unassigned, "assigned": report.opened.assigned,
                   "held_out": report.opened.held_out})
    else:
        console.print(str(report), highlight=False)


cases_app = typer.Typer(help="Detractor cases: list, work and close them; owners; recovery.", no_args_is_help=True)
_COMMANDS: list[tuple[str, Any]] = [("list", cases_list), ("show", cases_show), ("assign", cases_assign), ("start", cases_start),
                     ("resolve", cases_resolve), ("close", cases_close), ("reopen", cases_reopen),
                     ("note", cases_note), ("resurvey", cases_resurvey),
                     ("resurvey-answer", cases_resurvey_answer), ("recovery", cases_recovery),
                     ("notify", cases_notify)]
for _name, _func in _COMMANDS:
    cases_app.command(_name)(_func)
owners_app = typer.Typer(help="The owners table.", no_args_is_help=True)
owners_app.command("load")(cases_owners_load)
cases_app.add_typer(owners_app, name="owners")
alerts_app = typer.Typer(help="Alert rules over the feedback.", no_args_is_help=True)
alerts_app.command("run")(alerts_run)


@alerts_app.callback()
def _alerts_group() -> None:
    """Alert rules over the feedback."""
