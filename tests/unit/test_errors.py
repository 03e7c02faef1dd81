"""Structured hints: one remedy, rendered as a Python keyword, a CLI flag or JSON fields."""

from __future__ import annotations

from typing import Any

import pytest
import typer

import clvlab
from clvlab.cli import app
from clvlab.cli._common import FLAGS, as_flag
from clvlab.errors import DataValidationError, Hint, Issue, as_hints, render_hints

DAY_FIRST = Hint(option="date_format", value="%d/%m/%Y")
MONTH_FIRST = Hint(option="date_format", value="%m/%d/%Y")


def test_hint_renders_as_keyword_flag_and_fields() -> None:
    """One hint, three interfaces: Python keyword, shell-quoted CLI flag, JSON fields."""
    assert str(DAY_FIRST) == "date_format='%d/%m/%Y'"
    assert DAY_FIRST.render(as_flag) == "--date-format '%d/%m/%Y'"
    assert DAY_FIRST.to_dict() == {"option": "date_format", "value": "%d/%m/%Y", "text": ""}
    assert clvlab.Hint is Hint


@pytest.mark.parametrize(("hint", "python", "cli"), [
    (Hint(option="encoding", value="gb18030"), "encoding='gb18030'", "--encoding gb18030"),
    (Hint(option="decimal", value=","), "decimal=','", "--decimal ','"),
    (Hint("or 'mapping' in a config file", option="mapping", value={"ordered_at": "<column>"}),
     "mapping={'ordered_at': '<column>'} (or 'mapping' in a config file)",
     "--map 'ordered_at=<column>' (or 'mapping' in a config file)"),
    (Hint(option="mapping", value={"customer_id": "Cust No", "amount": "总额"}),
     "mapping={'customer_id': 'Cust No', 'amount': '总额'}",
     "--map 'customer_id=Cust No' --map amount=总额"),
    (Hint(option="scales", value={"csat": [0.0, 10.0]}), "scales={'csat': [0.0, 10.0]}", "--scale csat=0-10"),
    (Hint("one character or 'whitespace'", option="sep"), "sep=... (one character or 'whitespace')",
     "--sep SEP (one character or 'whitespace')"),
    (Hint(option="merge_duplicates", value=True), "merge_duplicates=True", "--merge-duplicates"),
    (Hint(option="date_format", value="it's"), "date_format=\"it's\"", "--date-format 'it'\"'\"'s'"),
    (Hint(option="include_refunds", value=False), "include_refunds=False", "include_refunds=False"),
    (Hint("check the file's permissions"), "check the file's permissions", "check the file's permissions"),
])
def test_each_kind_of_value_renders_in_both_interfaces(hint: Hint, python: str, cli: str) -> None:
    """Strings, mappings (repeated --map), scales (LOW-HIGH), no value (a metavar), flags,
    quotes inside values; a keyword the CLI has no flag for stays a keyword; text alone."""
    assert hint.render() == python
    assert hint.render(as_flag) == cli


def test_plain_strings_are_still_hints() -> None:
    """``hint="..."`` (the old form) still works: same message, ``.hint`` the same text."""
    exc = DataValidationError("no rows", hint="check the file")
    assert str(exc) == "no rows. Hint: check the file"
    assert exc.hint == "check the file"
    assert exc.hints == (Hint("check the file"),)
    assert DataValidationError("no rows").hint is None
    assert str(DataValidationError("no rows", hint="")) == "no rows"
    assert as_hints(["a", DAY_FIRST]) == (Hint("a"), DAY_FIRST)


def test_alternatives_for_one_setting_read_as_or() -> None:
    """Two values for one setting are alternatives ("or"); other remedies follow after ";"."""
    hints = [DAY_FIRST, MONTH_FIRST, Hint("rejected rows are in r.csv")]
    assert render_hints(hints) == "date_format='%d/%m/%Y' or date_format='%m/%d/%Y'; rejected rows are in r.csv"
    assert render_hints(hints, as_flag) == (
        "--date-format '%d/%m/%Y' or --date-format '%m/%d/%Y'; rejected rows are in r.csv")


def test_error_message_speaks_python_and_describes_for_the_cli() -> None:
    """``str(exc)`` names the keyword; ``describe(as_flag)`` the flag; issues are the same in both."""
    issue = Issue("not a date (expected ISO 8601)", row=1, column="ordered_at", value="31/01/2024")
    exc = DataValidationError("1 invalid row in 'o.csv' (no valid row)", [issue], hint=DAY_FIRST)
    where = "1 invalid row in 'o.csv' (no valid row): row 1, column 'ordered_at', value '31/01/2024': " \
            "not a date (expected ISO 8601). Hint: "
    assert str(exc) == where + "date_format='%d/%m/%Y'"
    assert exc.describe(as_flag) == where + "--date-format '%d/%m/%Y'"
    assert exc.message == "1 invalid row in 'o.csv' (no valid row)"


def _cli_flags(command: Any) -> set[str]:
    flags = {opt for p in command.params for opt in p.opts}
    for sub in getattr(command, "commands", {}).values():
        flags |= _cli_flags(sub)
    return flags


def test_every_flag_a_hint_can_name_exists() -> None:
    """The keyword -> flag table names only flags some command has (no hint sends users to a
    flag that does not exist)."""
    flags = _cli_flags(typer.main.get_command(app))
    assert set(FLAGS.values()) <= flags, set(FLAGS.values()) - flags


def test_every_clvlab_error_may_carry_hints_and_reads_as_before_without() -> None:
    """``hint=`` works on any error of the tree; errors raised without one keep their text."""

    class SomeError(clvlab.ClvlabError):
        pass

    exc = SomeError("case 3 needs a root cause", hint=Hint(option="root_cause", value="delivery"))
    assert str(exc) == "case 3 needs a root cause. Hint: root_cause='delivery'"
    assert exc.describe(as_flag) == "case 3 needs a root cause. Hint: --root-cause delivery"
    assert exc.hint == "root_cause='delivery'"
    plain = clvlab.ParameterError("The 'x' parameter of f must be positive. Got -1 instead.")
    assert (str(plain), plain.hints, plain.hint) == (
        "The 'x' parameter of f must be positive. Got -1 instead.", (), None)
    assert plain.describe(as_flag) == str(plain)
    assert str(clvlab.NotFittedError("not fitted")) == "not fitted"


def test_muted_warnings_belong_to_the_thread_that_muted_them() -> None:
    """Two threads muting at once keep their own scope (warnings.catch_warnings swaps one
    process-wide filter list: the second thread's exit would unmute the first, and a run fits
    models in two threads, clvlab.run_ahead)."""
    import threading
    import warnings

    from clvlab.errors import DataQualityWarning, muted, warn

    entered, left = threading.Event(), threading.Event()
    seen: dict[str, list[str]] = {}

    def first() -> None:
        with muted(DataQualityWarning), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            entered.set()
            assert left.wait(10)
            warn("first thread", DataQualityWarning)
        seen["first"] = [str(w.message) for w in caught]

    def second() -> None:
        assert entered.wait(10)
        with muted(DataQualityWarning):
            pass
        left.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {"first": []}
    with pytest.warns(DataQualityWarning, match="not muted here"):  # the scope ended with its block
        warn("not muted here", DataQualityWarning)


@pytest.mark.filterwarnings("default::clvlab.errors.DataQualityWarning")
def test_a_commands_warnings_print_as_warning_lines() -> None:
    """A warning met by a command prints as one ``warning:`` line, without the install's paths;
    ``--debug`` keeps Python's form."""
    from typer.testing import CliRunner

    from clvlab.cli._common import State, state, user_errors
    from clvlab.errors import DataQualityWarning, warn

    @user_errors
    def command() -> None:
        warn("12 customers were left out of the spend model", DataQualityWarning)

    tiny = typer.Typer()
    tiny.command()(command)
    saved = State(json=state.json, debug=state.debug)
    try:
        state.debug = False
        plain = CliRunner().invoke(tiny, [])
        state.debug = True
        with pytest.warns(DataQualityWarning, match="12 customers"):  # Python's own handling, untouched
            debug = CliRunner().invoke(tiny, [])
    finally:
        state.json, state.debug = saved.json, saved.debug
    assert plain.exit_code == 0, plain.output
    assert plain.output == "warning: 12 customers were left out of the spend model\n"
    assert "warning: 12" not in debug.output
