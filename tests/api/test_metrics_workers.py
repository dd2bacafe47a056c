"""`python -m api` with several workers and a metrics port: one port answers for all of
them (each worker counts into a shared directory), with the database's counts beside."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from strongroom.supervisor import free_ports


def test_the_metrics_port_sums_every_worker(tmp_path: Path) -> None:
    port, metrics = free_ports(2)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "PROMETHEUS_"))}
    env.update(
        API_MODE="test",
        API_PORT=str(port),
        API_METRICS_PORT=str(metrics),
        API_WORKERS="2",
        API_DATA_DIR=str(tmp_path),
        API_KEY_HASH_SECRET="h" * 32,
        API_VAULT_CREDENTIAL="v" * 32,
        API_FRAUD_CREDENTIAL="f" * 32,
        API_WEBHOOK_WORKER="false",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "api"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the API never answered"
            time.sleep(0.2)
        # New connections each time: the kernel hands them to either worker.
        for _ in range(20):
            assert httpx.get(f"http://127.0.0.1:{port}/v1/openapi.json").status_code == 200
        text = httpx.get(f"http://127.0.0.1:{metrics}/metrics", timeout=10).text
    finally:
        process.terminate()
        process.wait(20)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    served = [
        v
        for (name, labels), v in samples.items()
        if name == "http_requests_total" and ("route", "/v1/openapi.json") in labels
    ]
    assert sum(served) == 20
    assert samples[("api_reviews_open", (("mode", "test"),))] == 0
