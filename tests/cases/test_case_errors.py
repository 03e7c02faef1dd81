"""Case errors: rows are those of the frame the caller gave (1-based), remedies name the setting
(``root_cause=`` in Python, ``--root-cause`` on the command line)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from clvlab.cases.model import CaseError
from clvlab.cases.service import CaseService
from clvlab.cli.cases_cmds import cases_app
from clvlab.errors import DataValidationError
from clvlab.store import open_app_store


def test_empty_response_id_is_located_in_the_alerts_as_given(sqlite_url: str) -> None:
    """Alerts r1, r1 (a repeat), <empty>: the empty id is row 3 of the alerts (it was called
    row 2, its place after the repeat was dropped); nothing is opened."""
    alerts = pd.DataFrame({"response_id": ["r1", "r1", None], "score": [1.0, 1.0, 2.0]})
    with open_app_store(sqlite_url) as store:
        svc = CaseService(store)
        with pytest.raises(DataValidationError) as exc:
            svc.open_cases(alerts)
        assert [i.row for i in exc.value.issues] == [3]
        assert "'alerts', row 3, column 'response_id': response_id is empty" in str(exc.value)
        assert svc.list_cases() == []


def test_resolve_without_root_cause_hints_the_keyword_and_the_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resolving a case with no root cause: Python is told root_cause='delivery', the CLI
    --root-cause delivery (the library said '--root-cause' to Python callers before)."""
    monkeypatch.setenv("CLVLAB_APP_STORE", str(tmp_path / "app.sqlite"))
    with open_app_store() as store:
        svc = CaseService(store)
        case_id = svc.open_cases(pd.DataFrame({"response_id": ["r1"]})).opened[0]
        with pytest.raises(CaseError) as exc:
            svc.resolve(case_id)
    assert str(exc.value) == (f"case {case_id} needs a root cause to be resolved. "
                              "Hint: root_cause='delivery' (or product, staff, price, ...)")
    res = CliRunner().invoke(cases_app, ["resolve", str(case_id)])
    assert res.exit_code == 1
    assert res.output.strip() == (f"error: case {case_id} needs a root cause to be resolved. "
                                  "Hint: --root-cause delivery (or product, staff, price, ...)")
