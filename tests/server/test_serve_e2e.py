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
                 first_start: bool = True) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.out, self.err = folder / "serve.out", folder / "serve.err"
        with self.out.open("w") as out_w, self.err.open("w") as err_w:  # files: a full pipe would block it
            self.proc = subprocess.Popen(
                _clvlab("serve", "-w", str(ws), "--port", str(self.port), "--workers", str(workers)),
                stdout=out_w, stderr=err_w, text=True, env=env)
        try:
            self._wait()
            # on a first start the first admin's password is printed once, as the first line
            self.password = self.out.read_text().splitlines()[0].strip() if first_start else ""
            assert len(self.password) == (20 if first_start else 0), self.password
        except BaseException:
            self.stop()
            raise

    def _wait(self) -> None:
        deadline = time.monotonic() + 180
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
