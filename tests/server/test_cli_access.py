"""``clvlab db upgrade``, ``clvlab users ...``, ``clvlab tokens ...`` and ``clvlab serve``'s refusals,
through the CLI as a user types them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clvlab.cli import app

runner = CliRunner()


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'app.sqlite'}"


def test_users_and_tokens_from_the_command_line(url: str) -> None:
    added = runner.invoke(app, ["users", "add", "li.na", "--role", "store_manager", "--store", "S012",
                                "--app-store", url])
    assert added.exit_code == 0, added.output
    password = added.stdout.strip().splitlines()[-1]
    assert len(password) == 20
    assert "shown once" in added.stderr
    piped = runner.invoke(app, ["--json", "users", "add", "wu", "--role", "analyst", "--password-stdin",
                                "--app-store", url], input="a-long-password\n")
    assert json.loads(piped.stdout) == {"name": "wu", "role": "analyst", "stores": [], "password": None}
    no_store = runner.invoke(app, ["users", "add", "zed", "--role", "store_manager", "--app-store", url])
    assert no_store.exit_code == 1
    assert "needs at least one store. Hint: --store S012" in no_store.output
    granted = runner.invoke(app, ["--json", "users", "grant", "li.na", "--store", "S013", "--app-store", url])
    assert json.loads(granted.stdout)["stores"] == ["S012", "S013"]
    revoked = runner.invoke(app, ["--json", "users", "grant", "li.na", "--revoke", "S012", "--app-store", url])
    assert json.loads(revoked.stdout)["stores"] == ["S013"]
    token = runner.invoke(app, ["--json", "tokens", "create", "li.na", "--label", "bi", "--app-store", url])
    made = json.loads(token.stdout)
    assert made["token"].startswith("clv_")
    listing = runner.invoke(app, ["--json", "users", "list", "--app-store", url])
    assert listing.exit_code == 0, listing.output
    listed = json.loads(listing.stdout)
    assert [(u["name"], u["role"], u["stores"], u["tokens"]) for u in listed] == [
        ("li.na", "store_manager", ["S013"], 1), ("wu", "analyst", [], 0)]
    tokens = runner.invoke(app, ["tokens", "list", "--app-store", url])
    assert made["token"][:12] in tokens.stdout
    assert made["token"] not in tokens.stdout
    assert runner.invoke(app, ["tokens", "revoke", str(made["id"]), "--app-store", url]).exit_code == 0
    assert runner.invoke(app, ["--json", "users", "list", "--app-store", url]).stdout.count('"tokens": 0') == 2
    changed = runner.invoke(app, ["users", "password", "li.na", "--app-store", url])
    assert changed.exit_code == 0
    assert changed.stdout.strip() != password


def test_db_upgrade_and_serve_refuses_a_store_behind(tmp_path: Path, url: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from clvlab.store import head_revision, open_app_store, upgrade

    ws = tmp_path / "shop.duckdb"
    import duckdb

    duckdb.connect(str(ws)).close()
    with open_app_store(url, migrate=False) as store:
        upgrade(store, "0001")
    monkeypatch.setenv("CLVLAB_SECRET_KEY", "s" * 32)
    refused = runner.invoke(app, ["--json", "serve", "-w", str(ws), "--app-store", url])
    assert refused.exit_code == 1
    error = json.loads(refused.stdout)
    assert "is at revision 0001" in error["error"]
    assert f"clvlab db upgrade --app-store '{url}'" in error["hints"][0]["text"]
    done = runner.invoke(app, ["--json", "db", "upgrade", "--app-store", url])
    assert json.loads(done.stdout)["from"] == "0001"
    assert json.loads(done.stdout)["to"] == head_revision()
    again = runner.invoke(app, ["db", "upgrade", "--app-store", url])
    assert f"already at revision {head_revision()}" in again.output


def test_serve_refuses_without_a_secret(tmp_path: Path, url: str) -> None:
    ws = tmp_path / "shop.duckdb"
    refused = runner.invoke(app, ["serve", "-w", str(ws), "--app-store", url])
    assert refused.exit_code == 1
    assert "refuses to start: no secret key is set" in refused.output
    assert "--dev" in refused.output


def test_db_snapshot_publishes_what_the_server_reads(tmp_path: Path) -> None:
    import duckdb

    ws = tmp_path / "shop.duckdb"
    with duckdb.connect(str(ws)) as con:
        con.execute("CREATE TABLE scores AS SELECT 'c1' AS customer_id, 1.5 AS clv")
    done = runner.invoke(app, ["--json", "db", "snapshot", "-w", str(ws)])
    assert done.exit_code == 0, done.output
    snap = Path(json.loads(done.stdout)["snapshot"])
    assert snap == tmp_path / "shop.serve.duckdb"
    with duckdb.connect(str(snap), read_only=True) as con:
        assert con.execute("SELECT clv FROM scores").fetchall() == [(1.5,)]
    missing = runner.invoke(app, ["db", "snapshot", "-w", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 1
    assert "does not exist" in missing.output
