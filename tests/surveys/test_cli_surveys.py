"""``clvlab surveys``: create and list, invite a segment with the contact-frequency rule and a CSV
for the gateway, and a response answered through a link counted in NPS after ``clvlab run``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from clvlab.cli import app

runner = CliRunner()
KEY = "q" * 40


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("CLVLAB_APP_STORE", "CLVLAB_WORKSPACE", "CLVLAB_CONFIG", "CLVLAB_LINK_SECRET", "CLVLAB_DEV",
                 "CLVLAB_SURVEY_CONTACT_DAYS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLVLAB_SECRET_KEY", KEY)
    monkeypatch.setenv("CLVLAB_PUBLIC_URL", "https://survey.example.com")
    monkeypatch.setenv("CLVLAB_APP_STORE", f"sqlite:///{tmp_path / 'app.sqlite'}")


def _json(*args: str) -> Any:
    result = runner.invoke(app, ["--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def scored_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CDNOW sample (2,357 customers) loaded and run once (scores, stages), no feedback."""
    from clvlab.data.workspace import connect
    from clvlab.datasets import path as dataset_path
    from clvlab.pipeline import run_pipeline

    ws_path = tmp_path_factory.mktemp("surveys") / "shop.duckdb"
    with connect(ws_path) as ws:
        ws.load("transactions", dataset_path("cdnow_sample"), date_format="%Y%m%d", sep="whitespace",
                mapping={"customer_id": "column0", "ordered_at": "column2", "quantity": "column3",
                         "amount": "column4"}, progress=False)
        run_pipeline(ws, observation_end="1998-06-30")
    return ws_path


def test_create_and_list(tmp_path: Path) -> None:
    assert _json("surveys", "create", "nps-after-purchase") == {"survey_id": "nps-after-purchase", "created": True,
                                                                "questions": 3}
    own = tmp_path / "pickup.yaml"
    own.write_text("id: pickup\nlanguage: en\ntitle: {en: Pick-up, zh: 自提}\nquestions:\n"
                   "  - {id: ces, type: ces, text: {en: \"Easy?\", zh: 容易吗？}}\n", encoding="utf-8")
    assert _json("surveys", "create", str(own))["created"] is True
    assert [s["survey_id"] for s in _json("surveys", "list")] == ["nps-after-purchase", "pickup"]
    bad = runner.invoke(app, ["surveys", "create", "no-such-survey"])
    assert bad.exit_code != 0
    assert "neither a survey file nor a shipped survey" in bad.output


@pytest.mark.slow
def test_invite_a_segment_once_per_contact_window(scored_ws: Path, tmp_path: Path) -> None:
    from clvlab.surveys.tokens import verify_token

    _json("surveys", "create", "nps-after-purchase")
    with __import__("clvlab").connect(scored_ws, read_only=True) as ws:
        segments = ws.table("scores").segment.value_counts().execute()
    segment, size = segments.sort_values("segment_count").iloc[-1]
    links = tmp_path / "links.csv"
    first = _json("surveys", "invite", "nps-after-purchase", "-w", str(scored_ws), "--segment", str(segment),
                  "--channel", "sms", "--touchpoint", "after-purchase", "-o", str(links))
    assert first == {"created": int(size), "skipped_recent": 0, "skipped_duplicate": 0, "output": str(links)}
    frame = pd.read_csv(links, dtype=str)
    assert list(frame.columns[:5]) == ["customer_id", "channel", "link", "expires_at", "survey_id"]
    assert frame["link"].str.startswith("https://survey.example.com/s/").all()
    assert (frame["touchpoint"] == "after-purchase").all()
    assert verify_token(KEY.encode(), frame["link"].iloc[0].rsplit("/", 1)[1]) > 0
    again = _json("surveys", "invite", "nps-after-purchase", "-w", str(scored_ws), "--segment", str(segment),
                  "-o", str(tmp_path / "again.csv"))
    assert again["created"] == 0
    assert again["skipped_recent"] == int(size)
    zero = _json("surveys", "invite", "nps-after-purchase", "-w", str(scored_ws), "--segment", str(segment),
                 "--min-days", "0", "-o", str(tmp_path / "zero.csv"))
    assert zero["created"] == int(size)
    # the first-purchase trigger: one purchase, within N days of as_of (CDNOW's cohort bought in 1997 Q1)
    with __import__("clvlab").connect(scored_ws, read_only=True) as ws:
        stages = ws.table("stages").execute()
    once = stages[stages["n_purchases"] == 1]
    first_buyers = _json("surveys", "invite", "nps-after-purchase", "-w", str(scored_ws), "--first-purchase-days",
                         "600", "--min-days", "0", "-o", str(tmp_path / "first.csv"))
    assert first_buyers["created"] == len(once) > 0
    assert _json("surveys", "invite", "nps-after-purchase", "-w", str(scored_ws), "--first-purchase-days", "30",
                 "--min-days", "0", "-o", str(tmp_path / "none.csv"))["created"] == 0
    unknown = runner.invoke(app, ["surveys", "invite", "nps-after-purchase", "-w", str(scored_ws), "--segment",
                                  "nobody", "-o", str(tmp_path / "x.csv")])
    assert unknown.exit_code != 0
    assert "no customer has segment 'nobody'" in unknown.output


@pytest.mark.slow
def test_a_response_counts_in_nps_after_run(scored_ws: Path, tmp_path: Path) -> None:
    import clvlab
    from clvlab.store import open_app_store
    from clvlab.surveys.invites import create_invites
    from clvlab.surveys.responses import Collector
    from clvlab.voc.metrics import feedback_metrics

    url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    _json("surveys", "create", "nps-after-purchase")
    with open_app_store(url) as store:
        batch = create_invites(store, "nps-after-purchase", pd.DataFrame({"customer_id": ["00001", "00002", "00003"]}),
                               channel="wechat", key=KEY.encode(), base_url="https://survey.example.com/s/")
        collector = Collector(store, KEY.encode())
        tokens = [link.rsplit("/", 1)[1] for link in batch.links["link"]]
        opened = [collector.submit(t, {"nps": s}).cases for t, s in zip(tokens, (10, 9, 3), strict=True)]
        collector.submit(tokens[1], {"nps": 10})  # a resubmit: still three responses
    assert [len(c) for c in opened] == [0, 0, 1]
    export = tmp_path / "responses.csv"
    assert _json("surveys", "export", "-o", str(export))["rows"] == 3
    assert set(pd.read_csv(export)["response_id"]) == {"sv1-nps", "sv2-nps", "sv3-nps"}
    run = runner.invoke(app, ["run", "-w", str(scored_ws), "--as-of", "1998-06-30", "--app-store", url])
    assert run.exit_code == 0, run.output
    # the answers made the feedback table; the detractor's case was opened when it answered
    assert "; 0 cases opened." in " ".join(run.output.split())
    with clvlab.connect(scored_ws, read_only=True) as ws:
        nps = feedback_metrics(ws, metric="nps", by=())
        rows = ws.table("feedback").execute()
    assert len(rows) == 3
    assert sorted(rows["score"]) == [3, 10, 10]
    assert set(rows["channel"]) == {"wechat"}
    assert nps["n"].iloc[0] == 3
    assert nps["value"].iloc[0] == pytest.approx(100 * (2 - 1) / 3)
    sync = _json("surveys", "sync", "-w", str(scored_ws))  # again: nothing new, nothing changed
    assert (sync["inserted"], sync["updated"], sync["already_present"]) == (0, 0, 3)


def test_webhooks_from_the_cli_are_delivered_signed(tmp_path: Path) -> None:
    import http.server
    import threading

    from clvlab.store import open_app_store
    from clvlab.surveys.invites import create_invites
    from clvlab.surveys.responses import Collector
    from clvlab.surveys.webhooks import verify_signature

    got: list[tuple[dict[str, str], bytes]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/in"
        added = _json("surveys", "webhooks", "add", url)
        assert added["secret"].startswith("whsec_")
        assert [w["url"] for w in _json("surveys", "webhooks", "list")] == [url]
        assert "secret" not in _json("surveys", "webhooks", "list")[0]
        _json("surveys", "create", "csat")
        with open_app_store(f"sqlite:///{tmp_path / 'app.sqlite'}") as store:
            batch = create_invites(store, "csat", pd.DataFrame({"customer_id": ["c1"]}), channel="app",
                                   key=KEY.encode(), base_url="https://survey.example.com/s/")
            Collector(store, KEY.encode()).submit(batch.links["link"][0].rsplit("/", 1)[1], {"csat": 1})
        assert _json("surveys", "deliver") == {"sent": 1, "failed": 0, "pending": 0}
        assert _json("surveys", "deliver")["sent"] == 0
        headers, body = got[0]
        assert verify_signature(added["secret"], headers["X-Clvlab-Timestamp"], body, headers["X-Clvlab-Signature"])
        assert json.loads(body)["scores"] == {"csat": 1.0}
        assert _json("surveys", "webhooks", "remove", str(added["id"])) == {"id": added["id"], "active": False}
    finally:
        server.shutdown()
        server.server_close()
