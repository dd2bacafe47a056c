"""ops/grafana/strongroom.json: a dashboard Grafana imports (unique ids, panels on the
grid, the data source as a variable) whose every query is PromQL promtool accepts, and
which shows the business metrics the operations guide lists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.ops.promtool import OPS, check_rules

DASHBOARD = OPS / "grafana" / "strongroom.json"
BUSINESS = {
    "api_charges",
    "fraud_decisions_total",
    "api_reviews_open",
    "api_webhook_backlog",
    "api_webhook_dead_letters_total",
    "vault_audit_fsync_seconds_bucket",
    "vault_sealed",
    "vault_spend_cap_used_ratio",
    "vault_key_versions_in_use",
    "router_queue_depth",
    "http_request_duration_seconds_bucket",
    "http_requests_total",
}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def expressions(board: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in board["panels"] for t in p.get("targets", [])]


def as_rules(exprs: list[str], path: Path) -> Path:
    """The queries as recording rules, so `promtool check rules` parses each one."""
    lines = ["groups:", "  - name: dashboard", "    rules:"]
    for i, expr in enumerate(exprs):
        expr = expr.replace("$__rate_interval", "5m")
        lines += [f"      - record: dashboard:query{i}", f"        expr: {json.dumps(expr)}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_panel_ids_are_unique_and_panels_sit_on_the_grid():
    panels = dashboard()["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    taken: set[tuple[int, int]] = set()
    for p in panels:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24, p["title"]
        cells = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not cells & taken, f"{p['title']} overlaps another panel"
        taken |= cells


def test_every_query_uses_the_data_source_variable():
    board = dashboard()
    assert [v["name"] for v in board["templating"]["list"]] == ["datasource"]
    for p in board["panels"]:
        if p["type"] != "row":
            assert p["datasource"]["uid"] == "${datasource}", p["title"]


def test_every_query_is_valid_promql(tmp_path: Path):
    result = check_rules(as_rules(expressions(dashboard()), tmp_path / "q.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_invalid_query_is_caught(tmp_path: Path):
    exprs = [*expressions(dashboard()), "sum by (job (rate(api_charges_total[5m]))"]
    assert check_rules(as_rules(exprs, tmp_path / "q.yml")).returncode != 0


def test_the_business_metrics_are_on_the_dashboard():
    text = " ".join(expressions(dashboard()))
    assert {m for m in BUSINESS if m not in text} == set()
