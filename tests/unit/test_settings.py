"""The settings object (CLVLAB_* variables, optional TOML file) and secrets kept out of every message."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import pytest
from typer.testing import CliRunner

import clvlab
from clvlab.cli import _common
from clvlab.cli.cases_cmds import cases_app
from clvlab.settings import Settings, get_settings, redact
from clvlab.store.engine import head_revision

SECRET = "s3cret-Pw"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WORKSPACE", "APP_STORE", "TIMEZONE", "PUBLIC_URL", "CONFIG", "SMTP", "SMTP_PASSWORD"):
        monkeypatch.delenv(f"CLVLAB_{name}", raising=False)


def _everything_said(exc: BaseException) -> str:
    """The message, the repr and the whole traceback a --debug run would print."""
    return "\n".join([str(exc), repr(exc), *traceback.format_exception(exc)])


def test_defaults_and_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every value comes from CLVLAB_*; the app store is derived from the configured workspace."""
    s = get_settings()
    assert (s.workspace, s.app_store_url(), s.timezone, s.public_url) == (
        "clvlab.duckdb", "sqlite:///clvlab-app.sqlite", "UTC", None)
    monkeypatch.setenv("CLVLAB_WORKSPACE", str(tmp_path / "shop.duckdb"))
    monkeypatch.setenv("CLVLAB_TIMEZONE", "Asia/Shanghai")
    monkeypatch.setenv("CLVLAB_PUBLIC_URL", "https://cx.example.cn/")
    s = get_settings()
    assert s.app_store_url() == f"sqlite:///{tmp_path / 'shop-app.sqlite'}"
    assert (s.timezone, s.survey_link_base()) == ("Asia/Shanghai", "https://cx.example.cn/s/")
    with clvlab.connect() as ws:  # the library reads the same settings
        assert ws.path == tmp_path / "shop.duckdb"
    monkeypatch.setenv("CLVLAB_TIMEZONE", "")  # an empty variable is as good as unset
    assert get_settings().timezone == "UTC"


def test_toml_file_under_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """CLVLAB_CONFIG names a TOML file; a variable set in the environment wins over it."""
    config = tmp_path / "clvlab.toml"
    config.write_text('timezone = "Europe/Berlin"\npublic_url = "https://a.example.com"\n', encoding="utf-8")
    monkeypatch.setenv("CLVLAB_CONFIG", str(config))
    monkeypatch.setenv("CLVLAB_PUBLIC_URL", "https://b.example.com")
    s = get_settings()
    assert (s.timezone, s.public_url) == ("Europe/Berlin", "https://b.example.com")
    monkeypatch.setenv("CLVLAB_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(clvlab.ParameterError, match="not a file"):
        get_settings()


@pytest.mark.parametrize(("var", "value", "message"), [
    ("CLVLAB_TIMEZONE", "Mars/Olympus", "setting CLVLAB_TIMEZONE must be an IANA time zone name.*'Mars/Olympus'"),
    ("CLVLAB_PUBLIC_URL", "survey.example.com", "setting CLVLAB_PUBLIC_URL must be the address customers reach"),
    ("CLVLAB_SMTP", "mail.example.com", "setting CLVLAB_SMTP must be HOST:PORT"),
])
def test_a_bad_setting_names_its_variable(monkeypatch: pytest.MonkeyPatch, var: str, value: str, message: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(clvlab.ParameterError, match=message):
        get_settings()


def test_redact_hides_passwords_in_urls() -> None:
    assert redact(f"postgres://bob:{SECRET}@db:5432/shop") == "postgres://bob:***@db:5432/shop"
    assert redact(f"host=db password={SECRET} user=bob") == "host=db password=*** user=bob"
    assert redact(f"postgresql://db/shop?user=bob&password={SECRET}") == "postgresql://db/shop?user=bob&password=***"
    assert redact("postgres://bob@db/shop") == "postgres://bob@db/shop"


def test_settings_repr_shows_no_secret() -> None:
    s = Settings(app_store=f"postgres://bob:{SECRET}@db/app", smtp_password=SECRET, link_secret=SECRET)
    assert SECRET not in repr(s)
    assert SECRET not in str(s)
    assert "postgres://bob:***@db/app" in repr(s)
    assert s.app_store_url() == f"postgres://bob:{SECRET}@db/app"  # the real value is still used


def test_failing_workspace_connection_keeps_the_password_out(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing listens on 127.0.0.1:1: the error names the URL with *** for the password."""
    caplog.set_level(logging.DEBUG)
    with pytest.raises(clvlab.ClvlabError, match=r"cannot connect to 'postgres://bob:\*\*\*@127\.0\.0\.1:1/shop'") as err:
        clvlab.connect(f"postgres://bob:{SECRET}@127.0.0.1:1/shop")
    assert SECRET not in _everything_said(err.value)
    assert SECRET not in caplog.text


def test_failing_app_store_keeps_the_password_out(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"postgresql+psycopg://bob:{SECRET}@127.0.0.1:1/app"
    with pytest.raises(clvlab.ClvlabError, match=r"cannot open app store 'postgresql\+psycopg://bob:\*\*\*@") as err:
        clvlab.open_app_store(url)
    assert SECRET not in _everything_said(err.value)
    with pytest.raises(clvlab.ClvlabError, match="names the backend 'mysql'") as err:
        clvlab.open_app_store(f"mysql://bob:{SECRET}@127.0.0.1/app")
    assert SECRET not in _everything_said(err.value)
    assert SECRET not in caplog.text


@pytest.mark.postgres
def test_open_connections_show_no_password(pg_schema: str) -> None:
    """The test server trusts every password: the connections open, and their reprs hide it."""
    with clvlab.connect(f"postgres://postgres:{SECRET}@127.0.0.1:5432/test") as ws:
        assert SECRET not in repr(ws)
        assert ws.url == "postgres://postgres:***@127.0.0.1:5432/test"
        with pytest.raises(clvlab.DataValidationError) as err:
            ws.table("no_such_table")
        assert SECRET not in str(err.value)
    url = f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:5432/test?options=-csearch_path%3D{pg_schema}"
    with clvlab.open_app_store(url) as store:
        assert SECRET not in repr(store)
        assert SECRET not in repr(store.engine)
        assert store.revision() == head_revision()  # migrated, through the password-bearing URL


@pytest.mark.parametrize("debug", [False, True])
def test_cli_output_shows_no_password(monkeypatch: pytest.MonkeyPatch, debug: bool) -> None:
    """A failing --app-store (and CLVLAB_APP_STORE) prints a located error, never the password, even with --debug."""
    monkeypatch.setattr(_common.state, "debug", debug)
    runner = CliRunner()
    res = runner.invoke(cases_app, ["list", "--app-store", f"postgres://bob:{SECRET}@127.0.0.1:1/app"])
    assert res.exit_code == 1
    assert "cannot open app store 'postgres://bob:***@127.0.0.1:1/app'" in res.output
    assert SECRET not in res.output
    monkeypatch.setenv("CLVLAB_APP_STORE", f"postgres://bob:{SECRET}@127.0.0.1:1/app")
    res = runner.invoke(cases_app, ["list"])
    assert res.exit_code == 1
    assert SECRET not in res.output
