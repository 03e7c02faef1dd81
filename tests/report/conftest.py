"""A workspace the whole pipeline ran on: the bundled demo (CDNOW, feedback, channels, spend, cases)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def demo_ws(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The demo's workspace file and app store URL (``clvlab.pipeline.run_demo``)."""
    import clvlab
    from clvlab.pipeline import run_demo

    folder = tmp_path_factory.mktemp("report")
    url = f"sqlite:///{folder / 'app.sqlite'}"
    with clvlab.connect(folder / "shop.duckdb") as ws:
        store = clvlab.open_app_store(url)
        try:
            run_demo(ws, store)
        finally:
            store.close()
    return folder / "shop.duckdb", url


@pytest.fixture
def demo(demo_ws: tuple[Path, str]) -> Iterator[tuple[Any, Any]]:
    """The demo workspace (read-only) and its app store, open."""
    import clvlab

    path, url = demo_ws
    store = clvlab.open_app_store(url)
    try:
        with clvlab.connect(path, read_only=True) as ws:
            yield ws, store
    finally:
        store.close()


@pytest.fixture(scope="session")
def demo_has_churn(demo_ws: tuple[Path, str]) -> bool:
    """Whether the run wrote a churn table (the churn model's; without it the watchlist is a note)."""
    import clvlab

    with clvlab.connect(demo_ws[0], read_only=True) as ws:
        return "churn" in ws.tables()
