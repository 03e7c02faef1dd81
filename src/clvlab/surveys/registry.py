"""Surveys in the application store: create or update a definition, read one, list them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clvlab.errors import ClvlabError
from clvlab.store import AppStore, SurveyDef, SurveyInvite, SurveyResponse, utcnow
from clvlab.surveys.definition import (
    TEMPLATES,
    Survey,
    parse_survey,
    pick,
    survey_from_json,
    template_names,
)


class SurveyNotFoundError(ClvlabError):
    """No survey with that id in the app store (HTTP 404)."""

    http_status = 404


def resolve_source(source: str | Path) -> Path:
    """A survey file, or the file of a shipped survey named ``source`` (``nps-after-purchase``, ...)."""
    path = Path(source)
    if path.exists() or path.suffix:
        return path
    if str(source) in template_names():
        return TEMPLATES / f"{source}.yaml"
    msg = f"'{source}' is neither a survey file nor a shipped survey"
    raise ClvlabError(msg, hint=f"give a YAML file, or one of {', '.join(template_names())}")


def save_survey(session: Session, survey: Survey) -> bool:
    """Store ``survey`` (replacing a definition of the same id); True when it is new."""
    now = utcnow()
    row = session.get(SurveyDef, survey.id, with_for_update=True)
    text = json.dumps(survey.to_dict(), ensure_ascii=False)
    title = pick(survey.title, survey.language)
    if row is None:
        session.add(SurveyDef(survey_id=survey.id, title=title, language=survey.language, definition=text,
                              created_at=now, updated_at=now))
        return True
    row.title, row.language, row.definition, row.updated_at = title, survey.language, text, now
    return False


def create_survey(store: AppStore, source: str | Path | dict[str, Any]) -> tuple[Survey, bool]:
    """Parse ``source`` (a file, a shipped survey's name or a dict) and store it; (survey, created)."""
    survey = parse_survey(source if isinstance(source, dict) else resolve_source(source))
    with store.session() as session:
        created = save_survey(session, survey)
    return survey, created


def get_survey(session: Session, survey_id: str) -> Survey:
    """The stored survey ``survey_id``; :class:`SurveyNotFoundError` naming the command to add it."""
    row = session.get(SurveyDef, survey_id)
    if row is None:
        msg = f"no survey '{survey_id}' in the app store"
        raise SurveyNotFoundError(msg, hint=f"add it: clvlab surveys create FILE.yaml (shipped: {', '.join(template_names())})")
    return survey_from_json(row.definition)


def list_surveys(store: AppStore) -> list[dict[str, Any]]:
    """Every stored survey with its question count, invitations and responses."""
    with store.session() as session:
        invites = dict(session.execute(select(SurveyInvite.survey_id, func.count())
                                       .group_by(SurveyInvite.survey_id)).all())
        answers = dict(session.execute(select(SurveyResponse.survey_id, func.count())
                                       .group_by(SurveyResponse.survey_id)).all())
        rows = session.scalars(select(SurveyDef).order_by(SurveyDef.survey_id)).all()
        out = []
        for row in rows:
            survey = survey_from_json(row.definition)
            out.append({"survey_id": row.survey_id, "title": row.title, "language": row.language,
                        "questions": len(survey.questions), "types": sorted({q.type for q in survey.questions}),
                        "invites": int(invites.get(row.survey_id, 0)), "responses": int(answers.get(row.survey_id, 0)),
                        "updated_at": row.updated_at})
    return out
