"""Survey definitions (types, validation, the ACSI index) and signed links (sign, verify, expiry, tamper)."""

from __future__ import annotations

import pytest

from clvlab.surveys.definition import SurveyError, acsi_index, parse_survey, template_names
from clvlab.surveys.tokens import ExpiredLinkError, TamperedLinkError, sign_token, verify_token

KEY = b"s" * 32


def test_the_shipped_surveys_parse_and_read_back() -> None:
    from clvlab.surveys.definition import TEMPLATES, survey_from_json

    assert template_names() == ["acsi", "ces", "csat", "first-purchase", "nps-after-purchase"]
    for name in template_names():
        survey = parse_survey(TEMPLATES / f"{name}.yaml")
        assert survey_from_json(__import__("json").dumps(survey.to_dict())) == survey
        assert all(set(q.text) == {"zh", "en"} for q in survey.questions)


def test_answers_are_validated_per_question() -> None:
    survey = parse_survey(__import__("clvlab.surveys.definition", fromlist=["TEMPLATES"]).TEMPLATES
                          / "nps-after-purchase.yaml")
    assert survey.validate({"nps": "7", "improve": ["price", "price"]}) == {"nps": 7, "improve": ["price"]}
    with pytest.raises(SurveyError) as err:
        survey.validate({"nps": 7.5, "reason": "x" * 501, "improve": ["price", "quality", "service"], "who": 1})
    assert {i.column for i in err.value.issues} == {"nps", "reason", "improve", "who"}
    with pytest.raises(SurveyError, match="required"):
        survey.validate({})


def test_acsi_index_is_the_rescaled_weighted_mean() -> None:
    # 100 * sum(w (x - 1)) / (9 sum w): (7 + 6 + 5) / 27 = 0.6667
    assert acsi_index([8, 7, 6]) == pytest.approx(66.6667, abs=1e-4)
    assert acsi_index([10, 1, 1], [2, 1, 1]) == pytest.approx(50.0)
    from clvlab.surveys.definition import TEMPLATES

    survey = parse_survey(TEMPLATES / "acsi.yaml")
    scores = survey.scores(survey.validate({"acsi_satisfaction": 10, "acsi_expectations": 10, "acsi_ideal": 1}))
    assert scores == [("acsi", pytest.approx(200 / 3))]


def test_a_bad_definition_is_located() -> None:
    base = {"id": "x", "questions": [{"id": "q", "type": "stars", "text": "?"}]}
    with pytest.raises(SurveyError, match="unknown type 'stars'"):
        parse_survey(base)
    with pytest.raises(SurveyError, match="three questions"):
        parse_survey({"id": "x", "questions": [{"id": "a", "type": "acsi", "text": "?"}]})
    with pytest.raises(SurveyError, match="repeat"):
        parse_survey({"id": "x", "questions": [{"id": "a", "type": "nps", "text": "?"}] * 2})
    with pytest.raises(SurveyError, match="min must be below max"):
        parse_survey({"id": "x", "questions": [{"id": "a", "type": "rating", "min": 5, "max": 5, "text": "?"}]})


def test_a_link_verifies_until_it_expires() -> None:
    token = sign_token(KEY, 7, expires=2_000_000_000)
    assert verify_token(KEY, token, now=1_999_999_999) == 7
    with pytest.raises(ExpiredLinkError, match="expired on 2033-05-18"):
        verify_token(KEY, token, now=2_000_000_001)


@pytest.mark.parametrize("change", ["id", "expiry", "signature", "key", "truncate"])
def test_a_changed_link_is_refused(change: str) -> None:
    token = sign_token(KEY, 7, expires=2_000_000_000)
    ident, expiry, sig = token.split(".")
    bad, key = {"id": (f"8.{expiry}.{sig}", KEY), "expiry": (f"{ident}.{expiry}z.{sig}", KEY),
                "signature": (f"{ident}.{expiry}.{sig[:-1]}{'B' if sig[-1] == 'A' else 'A'}", KEY),
                "key": (token, b"t" * 32), "truncate": (token[:-3], KEY)}[change]
    with pytest.raises(TamperedLinkError):
        verify_token(key, bad, now=1_000_000_000)
