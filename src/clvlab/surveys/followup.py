"""Re-survey links of cases (``clvlab cases resurvey``) answered on the survey page.

A re-survey's link is ``<public URL>/s/<random token>`` (no dots, unlike the signed invitation
tokens): the page asks the case's metric once more (NPS, CSAT or CES, in zh or en) and records the
answer through :meth:`clvlab.CaseService.record_resurvey_response`, where ``clvlab cases recovery``
counts it.  A re-survey answers once; the link then says so.
"""

from __future__ import annotations

from clvlab.cases.model import CaseNotFoundError
from clvlab.store import AppStore, Resurvey
from clvlab.surveys.definition import Survey, parse_survey
from clvlab.surveys.tokens import UnknownLinkError

TEXTS = {
    "nps": {"zh": "问题处理之后，您现在有多大可能向朋友或同事推荐我们？",
            "en": "Now that we have dealt with your issue, how likely are you to recommend us?"},
    "csat": {"zh": "问题处理之后，您对我们的满意程度如何？", "en": "Now that we have dealt with your issue, how satisfied are you?"},
    "ces": {"zh": "这次问题处理有多容易？", "en": "How easy was it to get your issue resolved?"},
}
TITLE = {"zh": "回访", "en": "Following up"}


def is_followup(token: str) -> bool:
    """True for a re-survey token (random, no dots); invitation tokens have two dots."""
    return "." not in token


def followup_survey(store: AppStore, token: str, language: str) -> tuple[Survey, bool]:
    """The one-question survey of re-survey ``token`` and whether it was answered already."""
    from sqlalchemy import select

    with store.session() as session:
        row = session.scalar(select(Resurvey).where(Resurvey.token == token))
        if row is None:
            msg = "this survey link is not known here"
            raise UnknownLinkError(msg)
        metric, answered = (row.metric or "nps").lower(), row.answered_at is not None
    kind = metric if metric in TEXTS else "nps"
    survey = parse_survey({"id": "followup", "language": language, "title": TITLE,
                           "questions": [{"id": "score", "type": kind, "text": TEXTS[kind]}]})
    return survey, answered


def answer_followup(store: AppStore, token: str, score: int) -> None:
    """Record the re-survey's answer (:class:`clvlab.cases.model.CaseError` when answered before)."""
    from clvlab.cases.service import CaseService

    try:
        CaseService(store).record_resurvey_response(token, score, response_id=f"rs-{token[:12]}", actor="survey page")
    except CaseNotFoundError as exc:
        raise UnknownLinkError(str(exc)) from None
