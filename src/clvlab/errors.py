"""The clvlab error tree.

Every error a user can cause derives from :class:`ClvlabError`; interfaces translate it at the
boundary (the CLI prints one line and exits 1, the REST API answers 422 with the same fields).
A remedy that is a setting is a :class:`Hint` naming the Python keyword; each interface renders
it its own way (``date_format='%d/%m/%Y'``, ``--date-format '%d/%m/%Y'``, JSON fields).

Examples
--------
>>> import clvlab
>>> clvlab.BetaGeo().probability_alive(1, 2, 3)
Traceback (most recent call last):
...
clvlab.errors.NotFittedError: This BetaGeo instance is not fitted yet. Call 'fit' first.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Issue:
    """One located problem in user data. ``row`` is 1-based, header excluded."""

    message: str
    row: int | None = None
    column: str | None = None
    value: object = None
    source: str | None = None

    def __str__(self) -> str:
        where = []
        if self.source:
            where.append(f"'{self.source}'")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        if self.value is not None:
            where.append(f"value {self.value!r}")
        return (", ".join(where) + ": " if where else "") + self.message


@dataclass(frozen=True)
class Hint:
    """A remedy: the setting that fixes an error and/or a sentence.

    ``option`` is the Python keyword argument (``date_format``) and ``value`` what to pass
    (``None``: the user's choice); ``text`` says anything else, or the whole remedy when no
    setting fixes it. Each interface renders the setting its own way: Python as
    ``date_format='%d/%m/%Y'`` (:meth:`python`), the CLI as ``--date-format '%d/%m/%Y'``
    (``clvlab.cli._common.as_flag``), JSON as ``{"option", "value", "text"}`` (:meth:`to_dict`).

    Examples
    --------
    >>> str(Hint(option="date_format", value="%d/%m/%Y"))
    "date_format='%d/%m/%Y'"
    >>> str(Hint("or 'mapping' in a config file", option="mapping", value={"amount": "total"}))
    "mapping={'amount': 'total'} (or 'mapping' in a config file)"
    """

    text: str = ""
    option: str | None = None
    value: Any = None

    @staticmethod
    def python(hint: Hint) -> str:
        """The setting as a keyword argument: ``date_format='%d/%m/%Y'`` (``sep=...`` without value)."""
        return f"{hint.option}={'...' if hint.value is None else repr(hint.value)}"

    def render(self, setting: Callable[[Hint], str] | None = None) -> str:
        """The setting (rendered by ``setting``, default :meth:`python`), then ``text`` in brackets."""
        fix = (setting or Hint.python)(self) if self.option else ""
        if fix and self.text:
            return f"{fix} ({self.text})"
        return fix or self.text

    def to_dict(self) -> dict[str, Any]:
        """``{"option": ..., "value": ..., "text": ...}`` for JSON answers."""
        return {"option": self.option, "value": self.value, "text": self.text}

    def __str__(self) -> str:
        return self.render()


#: what ``hint=`` accepts: a sentence, a :class:`Hint`, or several (alternatives for one setting
#: are joined by "or", other remedies by ";")
HintLike = str | Hint | Sequence[str | Hint] | None


def as_hints(hint: HintLike) -> tuple[Hint, ...]:
    """``hint=`` as a tuple of :class:`Hint` (a plain string becomes ``Hint(text)``)."""
    if hint is None or hint == "":
        return ()
    items = [hint] if isinstance(hint, str | Hint) else list(hint)
    return tuple(h if isinstance(h, Hint) else Hint(str(h)) for h in items if h)


def render_hints(hints: Sequence[Hint], setting: Callable[[Hint], str] | None = None) -> str:
    """Hints as one phrase: ``date_format='%d/%m/%Y' or date_format='%m/%d/%Y'; see FILE``."""
    text = ""
    for i, h in enumerate(hints):
        if i:
            text += " or " if h.option and h.option == hints[i - 1].option else "; "
        text += h.render(setting)
    return text


class ClvlabError(Exception):
    """Root of every error clvlab raises on purpose.

    ``hint=`` (a sentence, a :class:`Hint` or a list of them) says how to fix it: ``hints`` holds
    them, ``str(exc)`` ends in ``. Hint: ...`` with settings as Python keywords, and
    :meth:`describe` renders settings as an interface likes (the CLI as flags).
    """

    #: how to fix the error (empty for errors raised without ``hint=``)
    hints: tuple[Hint, ...] = ()

    def __init__(self, *args: object, hint: HintLike = None) -> None:
        super().__init__(*args)
        self.hints = as_hints(hint)

    @property
    def hint(self) -> str | None:
        """The hints as text (settings as Python keywords), or None."""
        return render_hints(self.hints) or None

    def describe(self, setting: Callable[[Hint], str] | None = None) -> str:
        """The one-line message, settings in the hints rendered by ``setting`` (default Python)."""
        text = self._text()
        stop = "" if text.endswith(".") else "."
        return f"{text}{stop} Hint: {render_hints(self.hints, setting)}" if self.hints else text

    def _text(self) -> str:
        return Exception.__str__(self)

    def __str__(self) -> str:
        return self.describe()


class DataValidationError(ValueError, ClvlabError):
    """User data that cannot be used as given. ``issues`` lists where and why; ``hints`` how to fix it.

    ``hint`` is a sentence, a :class:`Hint` naming the setting that fixes the error, or a list of
    them; ``str(exc)`` renders settings as Python keywords, :meth:`describe` as an interface likes.

    Examples
    --------
    >>> raise DataValidationError("dates are ambiguous", hint=[
    ...     Hint(option="date_format", value="%d/%m/%Y"), Hint(option="date_format", value="%m/%d/%Y")])
    Traceback (most recent call last):
    ...
    clvlab.errors.DataValidationError: dates are ambiguous. Hint: date_format='%d/%m/%Y' or date_format='%m/%d/%Y'
    """

    def __init__(self, message: str, issues: Sequence[Issue] = (), hint: HintLike = None):
        self.message = message
        self.issues = list(issues)
        ClvlabError.__init__(self, message, hint=hint)  # ValueError.__init__ takes no hint

    def _text(self) -> str:
        if not self.issues:
            return self.message
        shown = "; ".join(str(i) for i in self.issues[:3])
        more = f" (and {len(self.issues) - 3} more)" if len(self.issues) > 3 else ""
        return f"{self.message}: {shown}{more}"


class ParameterError(ValueError, ClvlabError):
    """A function or estimator was called with an invalid argument (``hint=``: the value to pass)."""

    def __init__(self, *args: object, hint: HintLike = None) -> None:
        ClvlabError.__init__(self, *args, hint=hint)  # ValueError.__init__ takes no hint


class NotFittedError(ValueError, AttributeError, ClvlabError):
    """A model was used before ``fit``."""


class ConvergenceError(RuntimeError, ClvlabError):
    """Maximum-likelihood estimation did not converge."""


class TooManyRequestsError(ClvlabError):
    """Too many attempts or requests for now: try again after ``retry_after`` seconds (HTTP 429).

    One error for every limit (login throttling, survey rate limits): the server answers it with
    ``Retry-After``.
    """

    http_status = 429

    def __init__(self, *args: object, retry_after: int, hint: HintLike = None) -> None:
        super().__init__(*args, hint=hint)
        self.retry_after = retry_after


class ConvergenceWarning(UserWarning):
    """The optimiser stopped at a boundary or with a large gradient; results may be unreliable."""


class DataQualityWarning(UserWarning):
    """Data was usable but something in it deserves a look (e.g. customers left out of a fit)."""


#: the categories of clvlab's own warnings muted in this context (:func:`muted`)
_MUTED: ContextVar[tuple[type[Warning], ...]] = ContextVar("clvlab_muted_warnings", default=())


@contextmanager
def muted(*categories: type[Warning]) -> Iterator[None]:
    """Within the block, clvlab's own warnings of ``categories`` (issued through :func:`warn`)
    are not issued: in this thread only (and in contexts copied from it).

    Written by hand because ``warnings.catch_warnings`` swaps the process-wide filter list, which
    is not thread-safe before Python 3.14: a run fits models in two threads at once
    (:mod:`clvlab.run_ahead`), and two threads swapping the list restore each other's filters,
    muting or raising a warning in the other thread (a test run's ``error`` filter then fails a
    run that is right). A context variable belongs to one thread.
    """
    token = _MUTED.set(_MUTED.get() + categories)
    try:
        yield
    finally:
        _MUTED.reset(token)


def warn(message: str, category: type[Warning], stacklevel: int = 1) -> None:
    """``warnings.warn`` unless ``category`` is :func:`muted` here; ``stacklevel`` counts from
    the caller, as in ``warnings.warn``."""
    if not issubclass(category, _MUTED.get()):
        warnings.warn(message, category, stacklevel=stacklevel + 1)


def error_payload(exc: BaseException, status: int,
                  setting: Callable[[Hint], str] | None = None) -> dict[str, Any]:
    """The one JSON shape of an error, printed by the CLI's ``--json`` and answered by the server.

    ``{"ok": false, "error": text, "errors": [{row, column, value, message}], "hints": [{option,
    value, text}], "status": code}``; ``setting`` renders settings named in the text (the CLI: as flags).
    """
    text = exc.describe(setting) if isinstance(exc, ClvlabError) else str(exc)
    rows = [{"row": i.row, "column": i.column, "value": i.value, "message": i.message}
            for i in getattr(exc, "issues", [])]
    hints = [h.to_dict() for h in getattr(exc, "hints", ())]
    return {"ok": False, "error": text, "errors": rows, "hints": hints, "status": status}


def check_param(
    ok: bool, name: str, where: str, expected: str, got: object, hint: HintLike = None
) -> None:
    """Raise a :class:`ParameterError` in scikit-learn's wording unless ``ok`` (``hint``: the remedy)."""
    if not ok:
        msg = f"The '{name}' parameter of {where} must be {expected}. Got {got!r} instead."
        raise ParameterError(msg, hint=hint)
