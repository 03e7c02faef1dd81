"""Hostile inputs for the loaders (Hypothesis): whatever the file holds, a load either stores
every row or rejects it with a reason (never a traceback), a re-load changes nothing, and the
text survives its encoding and line ends."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import clvlab
from clvlab.errors import ClvlabError, DataValidationError

_SETTINGS = settings(max_examples=15, suppress_health_check=[HealthCheck.too_slow])

#: values a real export holds, and the ones that break naive readers
IDS = st.one_of(st.sampled_from(["", " ", "NULL", "nan", "17850.0", "C1", "顾客1", "R100007:nps"]),
                st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=8))
DATES = st.one_of(
    st.dates(min_value=__import__("datetime").date(1, 1, 1)).map(str),
    st.sampled_from(["2024-02-30", "0001-01-01", "9999-12-31", "294247-01-01", "31/12/2024",
                     "2024-01-01T10:00:00+08:00", "", "yesterday"]),
)
AMOUNTS = st.one_of(
    st.decimals(min_value=-10**15, max_value=10**15, places=4, allow_nan=False).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1e14", "-0", "1,234.50", "$5", "ten", "", "NaN", "1e400"]),
)


def _field(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@st.composite
def order_files(draw: st.DrawFn) -> tuple[bytes, int]:
    rows = draw(st.lists(st.tuples(IDS, DATES, AMOUNTS), min_size=1, max_size=12))
    ends = draw(st.lists(st.sampled_from(["\n", "\r\n"]), min_size=len(rows) + 1,
                         max_size=len(rows) + 1))
    text = "customer_id,ordered_at,amount" + ends[0]
    text += "".join(",".join(_field(v) for v in row) + end
                    for row, end in zip(rows, ends[1:], strict=True))
    return text.encode("utf-8"), len(rows)


@pytest.mark.slow
@_SETTINGS
@given(order_files())
def test_every_row_is_stored_or_rejected_and_a_reload_changes_nothing(data: tuple[bytes, int]
                                                                      ) -> None:
    body, n = data
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "orders.csv"
        f.write_bytes(body)
        with clvlab.connect(":memory:") as ws:
            try:
                first = ws.load_transactions(f)
            except ClvlabError:
                return  # no valid row at all: a located error, nothing stored
            assert first.rows_read == n
            assert first.inserted + first.n_rejected == n
            again = ws.load_transactions(f)
            assert (again.inserted, again.updated) == (0, 0)
            assert again.already_present == first.inserted
            stored = ws.con.con.execute(
                "SELECT count(*), min(year(ordered_at)), max(year(ordered_at)), "
                "max(abs(amount)) FROM transactions").fetchone()
            assert stored[0] == first.inserted
            assert 1900 <= stored[1] <= stored[2] <= 2199
            assert stored[3] < 10**14
            outcome: object  # whatever was stored summarises, or says why not (only refunds)
            try:
                outcome = clvlab.rfm_summary(ws)
            except ClvlabError as exc:
                outcome = str(exc)
            assert not isinstance(outcome, str) or "No transactions to summarise" in outcome


TEXT = st.text(st.sampled_from("顾客满意物流很快包装差价格贵退款服务好abcXYZ 0123-"), min_size=1,
               max_size=20).map(str.strip).filter(bool)


@pytest.mark.slow
@_SETTINGS
@given(st.lists(TEXT, min_size=1, max_size=8),
       st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"]))
def test_text_survives_its_encoding(categories: list[str], encoding: str) -> None:
    if encoding in ("gb18030", "gbk") and all(c.isascii() for c in "".join(categories)):
        categories = [*categories, "满意"]  # plain ASCII is UTF-8 too: give the codec work
    body = "customer_id,ordered_at,amount,category\n" + "".join(
        f"C{i},2024-01-{i + 1:02d},1,{c}\n" for i, c in enumerate(categories))
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "orders.csv"
        f.write_bytes(body.encode(encoding))
        with clvlab.connect(":memory:") as ws:
            refusal = ""
            try:  # detected, or refused naming encoding= (short GBK text may also be Big5)
                detected = ws.load_transactions(f).inserted
            except DataValidationError as exc:
                detected, refusal = 0, str(exc)
            assert not refusal or "encoding=" in refusal
            explicit = ws.load_transactions(f, encoding=encoding)
            assert detected + explicit.inserted == len(categories)
            got = ws.con.con.execute(
                "SELECT category FROM transactions ORDER BY ordered_at").fetchall()
            assert [g[0] for g in got] == categories
