"""CaseService on both backends: owners, priority, SLA, state machine, history, re-surveys, idempotence."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select

from clvlab.cases.model import CaseError, CaseNotFoundError
from clvlab.cases.owners import list_owners, load_owners
from clvlab.cases.rules import CasePolicy
from clvlab.cases.service import CaseService
from clvlab.errors import DataValidationError
from clvlab.store import AppStore, OutboxMessage


@pytest.fixture
def svc(store: AppStore, owners_frame: pd.DataFrame, clock) -> CaseService:
    load_owners(store, owners_frame)
    return CaseService(store, clock=clock)


def test_open_cases_owner_priority_and_sla(svc: CaseService, detractors, clv, clock) -> None:
    """Owner by store, then product, then default; priority by CLV decile; due = opened + SLA hours."""
    report = svc.open_cases(detractors, clv=clv)
    assert len(report.opened) == 4
    cases = {c.response_id: c for c in svc.list_cases()}
    assert {k: c.owner_id for k, c in cases.items()} == {
        "r1": "store-1", "r2": "store-2", "r3": "cx-lead", "r4": "prod-owner"}
    # c10 is the top decile of 1..10, c09 in the next 20%, c05 below, r3 has no customer
    assert {k: c.priority for k, c in cases.items()} == {"r1": "P1", "r2": "P3", "r3": "P3", "r4": "P2"}
    assert cases["r1"].due_at - cases["r1"].opened_at == timedelta(hours=24)
    assert cases["r4"].due_at - cases["r4"].opened_at == timedelta(hours=48)
    assert cases["r3"].due_at == clock.now + timedelta(hours=72)
    assert cases["r1"].clv == 10.0
    assert cases["r3"].clv is None
    assert cases["r1"].responded_at is not None
    # naive response times are in the business time zone, UTC here (the default)
    assert cases["r1"].responded_at.isoformat() == "2025-03-01T00:00:00+00:00"


def test_same_response_never_opens_two_cases(svc: CaseService, detractors) -> None:
    first = svc.open_cases(detractors)
    again = svc.open_cases(pd.concat([detractors, detractors]))
    assert again.opened == []
    assert again.already_open == 4
    assert len(svc.list_cases()) == len(first.opened) == 4


def test_policy_is_configurable(store: AppStore, detractors, clv, clock) -> None:
    policy = CasePolicy(priority=(("P1", 0.5),), default_priority="P3", sla_hours={"P1": 4, "P3": 8})
    svc = CaseService(store, policy=policy, clock=clock)
    svc.open_cases(detractors, clv=clv)
    by = {c.response_id: c for c in svc.list_cases()}
    assert by["r4"].priority == "P1"
    assert by["r4"].due_at - by["r4"].opened_at == timedelta(hours=4)
    assert by["r2"].owner_id is None  # no owners loaded and no default


def test_state_machine_full_loop_and_reopen(svc: CaseService, detractors, clock) -> None:
    cid = svc.open_cases(detractors).opened[0]
    clock.advance(hours=2)
    assert svc.start(cid, actor="ann").state == "in_progress"
    clock.advance(hours=1)
    assert svc.resolve(cid, root_cause=" Delivery ", note="refunded").root_cause == "delivery"
    assert svc.close(cid).state == "closed"
    reopened = svc.reopen(cid, note="customer wrote again")
    assert reopened.state == "open"
    assert reopened.first_contact_at == clock.now - timedelta(hours=1)  # the first contact is kept
    actions = [(h.action, h.from_state, h.to_state) for h in svc.history(cid)]
    assert actions[-1] == ("reopen", "closed", "open")
    assert len(actions) == 5


@pytest.mark.parametrize(("steps", "bad", "message"), [
    ([], "close", "case 1 cannot close: it is open and 'close' needs resolved; next step from open: start"),
    ([], "resolve", "case 1 needs a root cause to be resolved"),
    (["start"], "start", "cannot start: it is in_progress"),
    ([], "reopen", "cannot reopen: it is open and 'reopen' needs closed or resolved"),
])
def test_invalid_transitions_raise_a_clear_error(svc: CaseService, detractors, steps, bad, message) -> None:
    cid = svc.open_cases(detractors).opened[0]
    assert cid == 1
    for step in steps:
        getattr(svc, step)(cid)
    with pytest.raises(CaseError, match=message):
        getattr(svc, bad)(cid)
    assert len(svc.history(cid)) == 1 + len(steps)  # a refused change leaves no trace


def test_resolving_an_open_case_records_the_contact_first(svc: CaseService, detractors) -> None:
    """`cases resolve` straight from the list (as in the issue): start and resolve, both in the history."""
    cid = svc.open_cases(detractors).opened[0]
    view = svc.resolve(cid, root_cause="delivery", note="refunded, called back", actor="ann")
    assert view.state == "resolved"
    assert view.first_contact_at is not None
    assert view.sla_state == "met"
    steps = [(h.action, h.from_state, h.to_state, h.actor) for h in svc.history(cid)]
    assert steps[-2:] == [("start", "open", "in_progress", "ann"), ("resolve", "in_progress", "resolved", "ann")]


def test_resolve_needs_a_root_cause(svc: CaseService, detractors) -> None:
    cid = svc.open_cases(detractors).opened[0]
    svc.start(cid)
    with pytest.raises(CaseError, match="needs a root cause"):
        svc.resolve(cid)
    svc.record_root_cause(cid, "staff")
    assert svc.resolve(cid).root_cause == "staff"


def test_unknown_case_and_owner(svc: CaseService, detractors) -> None:
    cid = svc.open_cases(detractors).opened[0]
    with pytest.raises(CaseNotFoundError, match="no case 999"):
        svc.start(999)
    with pytest.raises(CaseNotFoundError, match="no owner 'nobody'"):
        svc.assign(cid, "nobody")


def test_assign_note_and_history_carry_actor_time_and_note(svc: CaseService, detractors, clock) -> None:
    cid = svc.open_cases(detractors).opened[0]
    clock.advance(minutes=5)
    svc.assign(cid, "store-2", actor="dee", note="store 2 handles this area")
    svc.add_note(cid, "left a voicemail", actor="bo")
    assert svc.get(cid).owner_id == "store-2"
    hist = svc.history(cid)
    assert (hist[1].action, hist[1].actor, hist[1].at) == ("assign", "dee", clock.now)
    assert hist[1].note == "owner store-1 -> store-2; store 2 handles this area"
    assert (hist[2].action, hist[2].note, hist[2].from_state) == ("note", "left a voicemail", "open")
    assert [c.id for c in svc.list_cases(owner="store-2")] == [cid, 2]


def test_list_oldest_first_with_sla_state(svc: CaseService, detractors, clock) -> None:
    """ok -> due soon (last 25% of the window) -> overdue; met/missed once contacted."""
    svc.open_cases(detractors.iloc[:1])  # P3 (no CLV): 72 h
    clock.advance(hours=10)
    svc.open_cases(detractors.iloc[1:2])
    first, second = svc.list_cases()
    assert first.response_id == "r1"
    assert (first.sla_state, second.sla_state) == ("ok", "ok")
    clock.advance(hours=45)  # r1 at 55 h of 72: 17 h left < 18 h; r2 at 45 h
    assert [c.sla_state for c in svc.list_cases()] == ["due soon", "ok"]
    clock.advance(hours=18)
    svc.start(second.id)  # contacted at 63 h: within its 72 h
    assert [c.sla_state for c in svc.list_cases()] == ["overdue", "met"]
    clock.advance(hours=10)
    svc.start(first.id)
    assert svc.get(first.id).sla_state == "missed"
    assert [c.id for c in svc.list_cases(state="in_progress")] == [first.id, second.id]
    assert svc.list_cases(state="open") == []
    with pytest.raises(CaseError, match="unknown case state 'done'"):
        svc.list_cases(state="done")


def test_resurvey_link_and_answer(svc: CaseService, detractors) -> None:
    cid = svc.open_cases(detractors).opened[0]
    with pytest.raises(CaseError, match="resolve it first"):
        svc.resurvey(cid)
    svc.start(cid)
    svc.resolve(cid, root_cause="delivery")
    survey = svc.resurvey(cid)
    assert survey.link == f"https://survey.example.com/s/{survey.token}"
    assert len(survey.token) >= 20
    assert svc.resurvey(cid).token == survey.token  # the unanswered one is reused
    answered = svc.record_resurvey_response(survey.token, 9, response_id="r1-again")
    assert answered.score == 9.0
    with pytest.raises(CaseError, match="already answered"):
        svc.record_resurvey_response(survey.token, 10)
    assert [h.action for h in svc.history(cid)][-2:] == ["resurvey", "resurvey_answered"]
    assert svc.history(cid)[-1].note == "score 2.0 -> 9"


def test_open_cases_rejects_rows_without_response_id(svc: CaseService, detractors) -> None:
    bad = detractors.copy()
    bad.loc[2, "response_id"] = None
    with pytest.raises(DataValidationError, match="row 3, column 'response_id': response_id is empty"):
        svc.open_cases(bad)
    assert svc.list_cases() == []


def test_owners_load_csv_upserts_and_validates(store: AppStore, tmp_path) -> None:
    path = tmp_path / "owners.csv"
    path.write_text("owner_id,name,email,store_id,webhook\n"
                    "o1,Ann,ann@example.com,S1,\no1,Ann,,S2,\no2,Bo,bo@example.com,S3,http://h/x\n",
                    encoding="utf-8")
    report = load_owners(store, path, default="o2")
    assert (report.owners, report.scopes, report.default_owner) == (2, 3, "o2")
    assert load_owners(store, path, default="o2") == report  # re-load: same table
    table = list_owners(store)
    assert table["store_id"].tolist() == ["S1", "S2", "S3"]
    assert table.loc[0, "email"] == "ann@example.com"
    path.write_text("owner_id,email,store_id\n,x@y.z,S1\no3,not-an-email,S4\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"2 invalid rows.*row 1, column 'owner_id'.*row 2, column 'email'"):
        load_owners(store, path)


def test_demo_owners_file_loads(store: AppStore) -> None:
    """The demo's owners table (datasets/files/demo_owners.csv) loads; an owner may own several stores."""
    from importlib.resources import files

    path = files("clvlab.datasets") / "files" / "demo_owners.csv"
    frame = pd.read_csv(str(path), dtype=str)
    report = load_owners(store, str(path))
    assert report.owners == frame["owner_id"].nunique()
    assert report.scopes == frame["store_id"].nunique()


def test_naive_response_times_are_read_in_the_business_time_zone(store: AppStore, detractors, clock) -> None:
    """A 09:00 response in Asia/Shanghai (UTC+8) happened at 01:00 UTC; an aware time keeps its instant."""
    frame = detractors.iloc[:2].assign(responded_at=[pd.Timestamp("2025-03-01 09:00"),
                                                     pd.Timestamp("2025-03-01 09:00", tz="Europe/Berlin")])
    CaseService(store, clock=clock, timezone="Asia/Shanghai").open_cases(frame)
    cases = {c.response_id: c for c in CaseService(store, clock=clock).list_cases()}
    assert {k: c.responded_at and c.responded_at.isoformat() for k, c in cases.items()} == {
        "r1": "2025-03-01T01:00:00+00:00", "r2": "2025-03-01T08:00:00+00:00"}


def test_resurvey_needs_a_public_url_and_a_score_on_the_scale(
    store: AppStore, detractors, clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A link without a host reaches no customer: refused with the setting to use; scores stay on scale."""
    monkeypatch.delenv("CLVLAB_PUBLIC_URL")
    svc = CaseService(store, clock=clock)
    cid = svc.open_cases(detractors).opened[0]
    svc.resolve(cid, root_cause="delivery")
    with pytest.raises(CaseError, match="set CLVLAB_PUBLIC_URL"):
        svc.resurvey(cid)
    with pytest.raises(CaseError, match="has no unanswered re-survey"):
        svc.answer_resurvey(cid, 9)
    svc = CaseService(store, clock=clock, survey_base_url="https://cx.example.cn/s/")
    assert svc.resurvey(cid).link.startswith("https://cx.example.cn/s/")
    with pytest.raises(CaseError, match="off the nps scale 0-10"):
        svc.answer_resurvey(cid, 11)
    assert svc.answer_resurvey(cid, 8).score == 8.0


def test_one_transaction_for_a_case_and_its_outbox(store: AppStore, owners_frame, detractors, clock) -> None:
    """Given the caller's session, opening and assigning commit or roll back together with it."""
    load_owners(store, owners_frame)
    svc = CaseService(store, clock=clock)
    seen = []

    def request_that_fails_later() -> None:
        with store.session() as session:
            svc.open_cases(detractors, session=session)
            seen.append(len(svc.list_cases(session=session)))
            raise RuntimeError("later step failed")

    with pytest.raises(RuntimeError, match="later step failed"):
        request_that_fails_later()
    assert seen == [4]
    assert svc.list_cases() == []
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0  # no orphan notification
        svc.open_cases(detractors, session=session)
    assert len(svc.list_cases()) == 4
    with store.session() as session:  # new-case e-mails to Ann, Bo and Dee, written with their cases
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 3
