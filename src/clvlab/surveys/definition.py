"""Survey definitions: questions with zh and en texts, answer validation, the ACSI index.

A survey is a YAML file (or a dict)::

    id: nps-after-purchase
    language: zh                 # the page's language unless the link asks for another
    title: {zh: 购物体验调查, en: Your shopping experience}
    questions:
      - {id: nps, type: nps, text: {zh: 您向朋友推荐我们的可能性有多大?, en: How likely ...?}}
      - {id: reason, type: text, required: false, max_length: 500, text: {zh: 原因?, en: Why?}}
      - {id: visit, type: single, options: [{id: first, text: {zh: 第一次, en: First time}}, ...]}

Question types: ``nps`` (0-10), ``csat`` (1-5), ``ces`` (1-7), ``acsi`` (one of the three ACSI
questions, 1-10), ``rating`` (``min``..``max``), ``text`` (``max_length``), ``single`` and
``multi`` (``options``; ``max_choices`` for multi).  ``nps``, ``csat`` and ``ces`` answers become
rows of the workspace's feedback table under their metric; the ACSI questions together become one
row of metric ``acsi`` with the 0-100 index (:func:`acsi_index`).

The ACSI index (Fornell, Johnson, Anderson, Cha and Bryant, "The American Customer Satisfaction
Index: Nature, Purpose, and Findings", *Journal of Marketing* 60(4), 1996, pp. 7-18): three
questions on 1-10 scales (overall satisfaction, confirmation of expectations, closeness to the
ideal) combine into ``100 * sum(w_i * (x_i - 1)) / (9 * sum(w_i))``.  The ACSI estimates the
weights ``w_i`` with a PLS model over the whole sample; a single response cannot, so clvlab uses
equal weights unless the survey gives ``weight`` per question (documented in docs/surveys.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clvlab.errors import DataValidationError, Issue

LANGUAGES = ("zh", "en")
TYPES = ("nps", "csat", "ces", "acsi", "rating", "text", "single", "multi")
#: answer scales of the scored types (inclusive)
SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7), "acsi": (1, 10)}
#: question types that are a feedback metric of their own
METRIC_TYPES = ("nps", "csat", "ces")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class SurveyError(DataValidationError):
    """A survey definition or an answer is invalid (located issues say where)."""


def _texts(raw: Any, where: str) -> dict[str, str]:
    if isinstance(raw, str):
        return dict.fromkeys(LANGUAGES, raw)
    if not isinstance(raw, Mapping) or not raw:
        msg = f"{where}: give the text as {{zh: ..., en: ...}} (got {raw!r})"
        raise SurveyError(msg)
    texts = {str(k): str(v) for k, v in raw.items()}
    unknown = set(texts) - set(LANGUAGES)
    if unknown:
        msg = f"{where}: unknown language(s) {sorted(unknown)}; use {list(LANGUAGES)}"
        raise SurveyError(msg)
    return texts


def pick(texts: Mapping[str, str], language: str) -> str:
    """The text in ``language``, else in the other one."""
    return texts.get(language) or next(iter(texts.values()))


@dataclass(frozen=True)
class Option:
    """A choice of a ``single``/``multi`` question."""

    id: str
    text: dict[str, str]


@dataclass(frozen=True)
class Question:
    """One question; see the module docstring for the types."""

    id: str
    type: str
    text: dict[str, str]
    required: bool = True
    options: tuple[Option, ...] = ()
    min: int | None = None
    max: int | None = None
    max_length: int = 1000
    max_choices: int | None = None
    weight: float = 1.0
    labels: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def scale(self) -> tuple[int, int] | None:
        """(lowest, highest) answer of a scored question, None for text and choices."""
        if self.type in SCALES:
            return SCALES[self.type]
        if self.type == "rating":
            return (int(self.min if self.min is not None else 1), int(self.max if self.max is not None else 5))
        return None

    def check(self, value: Any) -> Any:
        """The answer normalised (int, str, list of option ids) or :class:`ValueError` with the reason."""
        if value is None or value == "" or value == []:
            if self.required:
                msg = "an answer is required"
                raise ValueError(msg)
            return None
        if self.scale is not None:
            low, high = self.scale
            try:
                number = float(value)
            except (TypeError, ValueError):
                msg = f"must be a whole number from {low} to {high}"
                raise ValueError(msg) from None
            if not number.is_integer() or not low <= number <= high:
                msg = f"must be a whole number from {low} to {high}"
                raise ValueError(msg)
            return int(number)
        if self.type == "text":
            text = str(value).strip()
            if len(text) > self.max_length:
                msg = f"at most {self.max_length} characters"
                raise ValueError(msg)
            if "\x00" in text:
                msg = "contains a NUL character"
                raise ValueError(msg)
            return text or None
        ids = {o.id for o in self.options}
        chosen = [str(v) for v in (value if isinstance(value, list | tuple) else [value])]
        bad = [c for c in chosen if c not in ids]
        if bad:
            msg = f"unknown choice(s) {bad}; choose from {sorted(ids)}"
            raise ValueError(msg)
        if self.type == "single":
            if len(chosen) != 1:
                msg = "choose exactly one"
                raise ValueError(msg)
            return chosen[0]
        chosen = list(dict.fromkeys(chosen))
        if self.max_choices is not None and len(chosen) > self.max_choices:
            msg = f"choose at most {self.max_choices}"
            raise ValueError(msg)
        return chosen


@dataclass(frozen=True)
class Survey:
    """A survey definition (see the module docstring)."""

    id: str
    title: dict[str, str]
    questions: tuple[Question, ...]
    language: str = "zh"
    intro: dict[str, str] = field(default_factory=dict)
    thanks: dict[str, str] = field(default_factory=lambda: {"zh": "感谢您的反馈！", "en": "Thank you for your feedback!"})

    def validate(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """The answers normalised; :class:`SurveyError` naming every bad or unknown question."""
        known = {q.id: q for q in self.questions}
        issues = [Issue("not a question of this survey", column=str(k), source=self.id)
                  for k in answers if k not in known]
        out: dict[str, Any] = {}
        for q in self.questions:
            try:
                value = q.check(answers.get(q.id))
            except ValueError as exc:
                issues.append(Issue(str(exc), column=q.id, value=answers.get(q.id), source=self.id))
                continue
            if value is not None:
                out[q.id] = value
        if issues:
            msg = f"the answers to survey '{self.id}' are not valid"
            raise SurveyError(msg, issues)
        return out

    def scores(self, answers: Mapping[str, Any]) -> list[tuple[str, float]]:
        """(metric, score) pairs of validated answers: nps/csat/ces per question, ``acsi`` as the index."""
        out = [(q.type, float(answers[q.id])) for q in self.questions
               if q.type in METRIC_TYPES and q.id in answers]
        acsi = [q for q in self.questions if q.type == "acsi"]
        if acsi and all(q.id in answers for q in acsi):
            out.append(("acsi", acsi_index([answers[q.id] for q in acsi], [q.weight for q in acsi])))
        return out

    def comment(self, answers: Mapping[str, Any]) -> str | None:
        """The free-text answers joined (the feedback row's comment)."""
        texts = [str(answers[q.id]) for q in self.questions if q.type == "text" and answers.get(q.id)]
        return "\n".join(texts) or None

    def to_dict(self) -> dict[str, Any]:
        """The definition as plain data (what :func:`parse_survey` reads)."""
        from dataclasses import asdict

        return asdict(self)


def acsi_index(values: list[Any], weights: list[float] | None = None) -> float:
    """The ACSI 0-100 index of 1-10 answers: ``100 * sum(w * (x - 1)) / (9 * sum(w))`` (equal weights by default).

    >>> acsi_index([10, 10, 10]), acsi_index([1, 1, 1]), round(acsi_index([8, 7, 6]), 1)
    (100.0, 0.0, 66.7)
    """
    w = weights or [1.0] * len(values)
    return 100.0 * sum(wi * (float(x) - 1.0) for wi, x in zip(w, values, strict=True)) / (9.0 * sum(w))


_QUESTION_KEYS = {"id", "type", "text", "required", "options", "min", "max", "max_length", "max_choices",
                  "weight", "labels"}


def _question(raw: Any, index: int, where: str) -> Question:
    here = f"{where}: question {index}"
    if not isinstance(raw, Mapping) or "id" not in raw or "type" not in raw:
        msg = f"{here} must be a mapping with an 'id' and a 'type' (got {raw!r})"
        raise SurveyError(msg)
    unknown = set(raw) - _QUESTION_KEYS
    if unknown:
        msg = f"{here} ('{raw['id']}') has unknown keys {sorted(unknown)}; allowed: {sorted(_QUESTION_KEYS)}"
        raise SurveyError(msg)
    qid, kind = str(raw["id"]), str(raw["type"])
    if not _ID.match(qid):
        msg = f"{here}: id {qid!r} must be lower-case letters, digits, '-' or '_'"
        raise SurveyError(msg)
    if kind not in TYPES:
        msg = f"{here} ('{qid}'): unknown type {kind!r}; use one of {list(TYPES)}"
        raise SurveyError(msg)
    options = tuple(Option(str(o["id"]), _texts(o.get("text", o["id"]), f"{here} option"))
                    for o in raw.get("options") or [] if isinstance(o, Mapping) and "id" in o)
    if kind in {"single", "multi"} and len(options) < 2:
        msg = f"{here} ('{qid}'): a {kind} question needs at least two options, each {{id, text}}"
        raise SurveyError(msg)
    question = Question(
        id=qid, type=kind, text=_texts(raw.get("text"), f"{here} ('{qid}')"),
        required=bool(raw.get("required", kind != "text")), options=options,
        min=None if raw.get("min") is None else int(raw["min"]), max=None if raw.get("max") is None else int(raw["max"]),
        max_length=int(raw.get("max_length", 1000)),
        max_choices=None if raw.get("max_choices") is None else int(raw["max_choices"]),
        weight=float(raw.get("weight", 1.0)),
        labels={str(k): _texts(v, f"{here} labels") for k, v in (raw.get("labels") or {}).items()},
    )
    scale = question.scale
    if scale is not None and scale[0] >= scale[1]:
        msg = f"{here} ('{qid}'): min must be below max (got {scale})"
        raise SurveyError(msg)
    return question


def parse_survey(source: str | Path | Mapping[str, Any]) -> Survey:
    """A :class:`Survey` from a YAML/JSON/TOML file or a dict; :class:`SurveyError` naming what is wrong."""
    from clvlab._config import read_config

    data, where = read_config(source, name="survey", what="survey file", error=SurveyError)
    if not isinstance(data, Mapping) or "id" not in data or not data.get("questions"):
        msg = f"{where}: a survey needs an 'id' and a list of 'questions'"
        raise SurveyError(msg)
    sid = str(data["id"])
    if not _ID.match(sid):
        msg = f"{where}: survey id {sid!r} must be lower-case letters, digits, '-' or '_'"
        raise SurveyError(msg)
    questions = tuple(_question(q, i, where) for i, q in enumerate(data["questions"], start=1))
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        msg = f"{where}: question ids repeat: {sorted({i for i in ids if ids.count(i) > 1})}"
        raise SurveyError(msg)
    acsi = [q for q in questions if q.type == "acsi"]
    if acsi and len(acsi) != 3:
        msg = f"{where}: the ACSI index needs its three questions (satisfaction, expectations, ideal); got {len(acsi)}"
        raise SurveyError(msg)
    language = str(data.get("language", "zh"))
    if language not in LANGUAGES:
        msg = f"{where}: language {language!r} is not one of {list(LANGUAGES)}"
        raise SurveyError(msg)
    extra = {k: _texts(data[k], f"{where}: {k}") for k in ("intro", "thanks") if data.get(k)}
    return Survey(id=sid, title=_texts(data.get("title", sid), f"{where}: title"), questions=questions,
                  language=language, **extra)


def survey_from_json(text: str) -> Survey:
    """A survey stored in the app store (its :meth:`Survey.to_dict` as JSON)."""
    data = json.loads(text)
    for q in data["questions"]:
        q["options"] = [{"id": o["id"], "text": o["text"]} for o in q.get("options") or []]
        if not q.get("labels"):
            q.pop("labels", None)
    return parse_survey(data)


TEMPLATES = Path(__file__).with_name("templates")


def template_names() -> list[str]:
    """The surveys shipped with clvlab (``clvlab surveys create NAME``)."""
    return sorted(p.stem for p in TEMPLATES.glob("*.yaml"))
