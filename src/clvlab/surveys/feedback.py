"""Survey responses as rows of the workspace's ``feedback`` table, and loading them there.

Each scored answer of a response is one feedback row (:data:`clvlab.data.contract.FEEDBACK`):
``response_id`` is ``sv<response id>-<metric>`` (``sv12-nps``; the ACSI questions give one row of
metric ``acsi`` with the 0-100 index), ``responded_at`` the first submission in the business time
zone, ``comment`` the free-text answers, and ``channel``, ``store_id``, ``touchpoint``,
``product_id``, ``survey_id`` from the invitation.  A resubmitted response keeps its row ids, so a
reload updates the rows (the contract's key updates), never duplicates them.  Loading is idempotent:
``clvlab surveys sync -w WS`` does it, and ``clvlab run --app-store URL`` does it before it
summarises feedback.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from sqlalchemy import select

from clvlab.store import AppStore, SurveyResponse
from clvlab.surveys.definition import Survey, survey_from_json

COLUMNS = ("response_id", "responded_at", "metric", "score", "customer_id", "comment", "channel", "touchpoint",
           "store_id", "product_id", "survey_id")


def feedback_rows(row: SurveyResponse, survey: Survey, timezone: str = "UTC") -> list[dict[str, Any]]:
    """The feedback rows of one stored response (none when it has no scored answer)."""
    answers = json.loads(row.answers)
    hidden = json.loads(row.hidden or "{}")
    at = pd.Timestamp(row.submitted_at).tz_convert(timezone).tz_localize(None)
    return [{"response_id": f"sv{row.id}-{metric}", "responded_at": at, "metric": metric, "score": score,
             "customer_id": row.customer_id, "comment": survey.comment(answers), "channel": row.channel,
             "touchpoint": hidden.get("touchpoint"), "store_id": row.store_id, "product_id": hidden.get("product_id"),
             "survey_id": row.survey_id} for metric, score in survey.scores(answers)]


def response_feedback(store: AppStore, *, timezone: str = "UTC") -> pd.DataFrame:
    """Every stored response as feedback rows (the columns of :data:`COLUMNS`)."""
    from clvlab.store import SurveyDef

    rows: list[dict[str, Any]] = []
    with store.session() as session:
        surveys = {s.survey_id: survey_from_json(s.definition) for s in session.scalars(select(SurveyDef))}
        for resp in session.scalars(select(SurveyResponse).order_by(SurveyResponse.id)):
            survey = surveys.get(resp.survey_id)
            if survey is not None:
                rows.extend(feedback_rows(resp, survey, timezone))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def load_responses(workspace: Any, store: AppStore) -> Any:
    """Load the app store's responses into the workspace's feedback table (None when there are none).

    Returns the :class:`clvlab.data.LoadReport`; rows already there with the same content are not
    added again, changed ones (a resubmit) are updated.
    """
    frame = response_feedback(store, timezone=workspace.timezone)
    if frame.empty:
        return None
    frame = frame.dropna(axis=1, how="all")
    return workspace.load("feedback", frame, progress=False)
