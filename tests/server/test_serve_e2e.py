"""``clvlab serve`` as a real process on a free port, read while a batch ``clvlab run`` rewrites the
workspace in another process: every request is answered, the run succeeds, and the next request
shows the new run (the serving snapshot, see clvlab.data.snapshot)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

SECRET = "e2e-secret-key-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _workspace(path: Path) -> None:
    import clvlab
    from clvlab.datasets import load_cdnow

    tx = load_cdnow("sample")
    ids = sorted(tx["customer_id"].astype(str).unique())
    with clvlab.connect(path) as ws:
        ws.load_transactions(tx)
        ws.load_customers(pd.DataFrame({"customer_id": ids, "acquisition_cost": 10.0,
                                        "store_id": ["S1" if i % 2 else "S2" for i in range(len(ids))]}))


def _clvlab(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("clvlab")), *args]


class Served:
    """A running ``clvlab serve`` process: its address, the first admin's password, its log files."""

    def __init__(self, ws: Path, env: dict[str, str], folder: Path, workers: int = 2,
                 first_start: bool = True, start_s: float = 180) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.out, self.err = folder / "serve.out", folder / "serve.err"
        with self.out.open("w") as out_w, self.err.open("w") as err_w:  # files: a full pipe would block it
            self.proc = subprocess.Popen(
                _clvlab("serve", "-w", str(ws), "--port", str(self.port), "--workers", str(workers)),
                stdout=out_w, stderr=err_w, text=True, env=env)
        try:
            self._wait(start_s)
            # on a first start the first admin's password is printed once, as the first line
            self.password = self.out.read_text().splitlines()[0].strip() if first_start else ""
            assert len(self.password) == (20 if first_start else 0), self.password
        except BaseException:
            self.stop()
            raise

    def _wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                if httpx.get(f"{self.base}/api/openapi.json", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None, self.err.read_text()
            assert time.monotonic() < deadline, "clvlab serve did not come up"
            time.sleep(0.5)

    def stop(self) -> str:
        """Stop the server; its log (stderr and stdout after the password line)."""
        self.proc.terminate()
        self.proc.wait(timeout=60)
        skip = 1 if getattr(self, "password", "") else 0
        return self.err.read_text() + "\n".join(self.out.read_text().splitlines()[skip:])


def _env(app_store: str) -> dict[str, str]:
    env = {**os.environ, "CLVLAB_SECRET_KEY": SECRET, "CLVLAB_APP_STORE": app_store}
    for name in ("CLVLAB_WORKSPACE", "CLVLAB_DEV", "CLVLAB_CONFIG"):
        env.pop(name, None)
    return env


@pytest.mark.slow
def test_serve_answers_through_a_batch_run(tmp_path: Path) -> None:
    ws = tmp_path / "shop.duckdb"
    _workspace(ws)
    env = _env(f"sqlite:///{tmp_path / 'app.sqlite'}")
    server = Served(ws, env, tmp_path)
    password = server.password
    try:
        client = httpx.Client(base_url=server.base, timeout=60)
        login = client.post("/api/v1/auth/login", json={"name": "admin", "password": password})
        assert login.status_code == 200, login.text
        before = client.get("/api/v1/customers/00004").json()
        assert before["scores"] is None  # nothing scored yet

        batch = subprocess.Popen(_clvlab("--json", "run", "-w", str(ws)), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=env)
        statuses, latencies = [], []
        while batch.poll() is None:
            started = time.perf_counter()
            answer = client.get("/api/v1/customers/00004")
            latencies.append(time.perf_counter() - started)
            statuses.append(answer.status_code)
        out, err = batch.communicate()
        assert batch.returncode == 0, err
        summary = json.loads(out)
        assert summary["snapshot"] == str(ws.with_name("shop.serve.duckdb"))
        assert statuses
        assert set(statuses) == {200}, statuses
        after = client.get("/api/v1/customers/00004").json()
        assert after["scores"]["run_id"] == summary["run_id"]
        assert after["stage"]["run_id"] == summary["run_id"]
        print(f"\n{len(statuses)} requests during the run, all 200; latency max {max(latencies):.3f} s, "
              f"median {sorted(latencies)[len(latencies) // 2]:.3f} s")
        client.close()
    finally:
        log = server.stop()
    assert password not in log  # the password is printed once on stdout, never logged
    assert "GET /api/v1/customers/00004" in log


@pytest.mark.slow
@pytest.mark.postgres
def test_serve_on_postgresql_with_workers(tmp_path: Path, served_workspace: Path, pg_schema: str) -> None:
    """Several workers on a PostgreSQL app store: a manager logs in, works a case, and a token is
    refused the moment it is revoked (whichever worker answers)."""
    from tests.server.conftest import PASSWORD, pg_store_url, seed_store

    url = seed_store(pg_store_url(pg_schema))
    server = Served(served_workspace, _env(url), tmp_path, workers=3, first_start=False)
    try:
        mgr = httpx.Client(base_url=server.base, timeout=60)
        csrf = mgr.post("/api/v1/auth/login", json={"name": "mgr2", "password": PASSWORD}).json()["csrf_token"]
        mgr.headers["X-CSRF-Token"] = csrf
        cases = mgr.get("/api/v1/cases").json()["items"]
        assert {c["store_id"] for c in cases} == {"S2"}
        for _ in range(6):  # several requests: several workers see the same session
            assert mgr.get("/api/v1/me").json()["name"] == "mgr2"
        started = mgr.post(f"/api/v1/cases/{cases[0]['id']}/start", json={"note": "called"})
        assert started.json()["state"] == "in_progress"
        assert mgr.get("/api/v1/customers/c03").status_code == 404
        made = subprocess.run(_clvlab("--json", "tokens", "create", "ana", "--app-store", url),
                              capture_output=True, text=True, check=True, env=_env(url))
        token = json.loads(made.stdout)
        api = httpx.Client(base_url=server.base, timeout=60, headers={"Authorization": f"Bearer {token['token']}"})
        assert [api.get("/api/v1/me").status_code for _ in range(6)] == [200] * 6
        subprocess.run(_clvlab("tokens", "revoke", str(token["id"]), "--app-store", url), check=True,
                       capture_output=True, env=_env(url))
        assert [api.get("/api/v1/me").status_code for _ in range(6)] == [401] * 6
        mgr.close()
        api.close()
    finally:
        log = server.stop()
    assert PASSWORD not in log
    assert token["token"] not in log


@pytest.mark.slow
@pytest.mark.postgres
def test_a_survey_answer_on_postgresql_becomes_a_case_and_part_of_nps(tmp_path: Path, served_workspace: Path,
                                                                       pg_schema: str) -> None:
    """Issue 10's "done when" with real processes on PostgreSQL: invitations made by the CLI, a link
    answered on the page (and again through the JSON endpoint) of ``clvlab serve --workers 2``, the
    case in the owner's inbox at once, and after ``surveys sync`` and a new snapshot, the answer in
    the store's NPS."""
    import shutil

    from tests.server.conftest import PASSWORD, pg_store_url, seed_store

    ws = tmp_path / "ws" / "shop.duckdb"
    ws.parent.mkdir()
    for name in ("shop.duckdb", "shop.serve.duckdb"):  # a copy: the sync below writes the workspace
        shutil.copy2(served_workspace.with_name(name), ws.with_name(name))
    url = seed_store(pg_store_url(pg_schema))
    env = _env(url)

    def cli(*args: str) -> str:
        done = subprocess.run(_clvlab(*args), capture_output=True, text=True, env=env, timeout=300, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    server = Served(ws, env, tmp_path, workers=2, first_start=False)
    try:
        cli("surveys", "create", "nps-after-purchase")
        cli("surveys", "invite", "nps-after-purchase", "-w", str(ws), "--stage", "active", "--channel", "wechat",
            "--base-url", server.base, "-o", str(tmp_path / "links.csv"))
        links = pd.read_csv(tmp_path / "links.csv", dtype=str).set_index("customer_id")
        assert links.loc["c13", "store_id"] == "S2"
        token = links.loc["c13", "link"].rsplit("/", 1)[1]
        mgr = httpx.Client(base_url=server.base, timeout=60)
        assert mgr.post("/api/v1/auth/login", json={"name": "mgr2", "password": PASSWORD}).status_code == 200
        nps_before = mgr.get("/api/v1/voc/nps", params={"by": "none", "min_n": 1}).json()["rows"][0]["n"]
        inbox_before = {c["id"] for c in mgr.get("/api/v1/cases", params={"owner": "O2"}).json()["items"]}

        page = httpx.post(f"{server.base}/s/{token}", data={"nps": "1", "reason": "排队太久"}, timeout=60)
        assert page.status_code == 200, page.text
        again = httpx.post(f"{server.base}/api/v1/surveys/respond/{token}", json={"answers": {"nps": 2}}, timeout=60)
        assert (again.status_code, again.json()["revision"]) == (200, 2)
        new = [c for c in mgr.get("/api/v1/cases", params={"owner": "O2"}).json()["items"]
               if c["id"] not in inbox_before]
        assert [(c["customer_id"], c["store_id"], c["score"]) for c in new] == [("c13", "S2", 1.0)]

        cli("surveys", "sync", "-w", str(ws))
        cli("db", "snapshot", "-w", str(ws))
        nps = mgr.get("/api/v1/voc/nps", params={"by": "none", "min_n": 1}).json()["rows"][0]
        assert nps["n"] == nps_before + 1  # the answer counts once, with its latest score
        mgr.close()
    finally:
        server.stop()
