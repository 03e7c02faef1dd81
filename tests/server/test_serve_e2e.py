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


@pytest.mark.slow
def test_serve_answers_through_a_batch_run(tmp_path: Path) -> None:
    ws = tmp_path / "shop.duckdb"
    _workspace(ws)
    port = _free_port()
    env = {**os.environ, "CLVLAB_SECRET_KEY": SECRET, "CLVLAB_APP_STORE": f"sqlite:///{tmp_path / 'app.sqlite'}"}
    for name in ("CLVLAB_WORKSPACE", "CLVLAB_DEV", "CLVLAB_CONFIG"):
        env.pop(name, None)
    out_file, err_file = tmp_path / "serve.out", tmp_path / "serve.err"
    with out_file.open("w") as out_w, err_file.open("w") as err_w:  # files: a full pipe would block the server
        server = subprocess.Popen(_clvlab("serve", "-w", str(ws), "--port", str(port), "--workers", "2"),
                                  stdout=out_w, stderr=err_w, text=True, env=env)
    password = ""
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{base}/api/openapi.json", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, "clvlab serve stopped"
            assert time.monotonic() < deadline, "clvlab serve did not come up"
            time.sleep(0.5)
        password = out_file.read_text().splitlines()[0].strip()  # the first admin's, printed once
        assert len(password) == 20, password
        client = httpx.Client(base_url=base, timeout=60)
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
        server.terminate()
        server.wait(timeout=60)
    log = err_file.read_text() + "\n".join(out_file.read_text().splitlines()[1:])
    assert password not in log  # the password is printed once on stdout, never logged
    assert "GET /api/v1/customers/00004" in log
