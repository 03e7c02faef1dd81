"""Rows in case errors are the rows of the frame the caller gave (1-based), not of a deduplicated copy."""

from __future__ import annotations

import pandas as pd
import pytest

from clvlab.cases.service import CaseService
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
