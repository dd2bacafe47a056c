"""ops/prometheus/alerts.yml: promtool checks it, its unit tests pass, it names every
alarm the operations guide explains, and each alert has a unit test."""

from __future__ import annotations

import re
from pathlib import Path

from tests.ops.promtool import OPS, REPO, check_rules, promtool

RULES = OPS / "prometheus" / "alerts.yml"
RULE_TESTS = OPS / "prometheus" / "alerts_test.yml"
# The alarms the deployment promises (terraform/live/*/alarms.tf has their CloudWatch twins).
REQUIRED = {
    "Strongroom5xxRateHigh",
    "StrongroomP99LatencyHigh",
    "VaultAuditWriteFailures",
    "VaultSealed",
    "VaultSpendCapReached",
    "WebhookDeadLetters",
    "RouterQueueDepthHigh",
}


def alerts() -> set[str]:
    return set(re.findall(r"^\s*- alert: (\w+)$", RULES.read_text(), re.M))


def test_promtool_checks_the_rules():
    result = check_rules(RULES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_rules_unit_tests_pass():
    result = promtool("test", "rules", RULE_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_broken_expression_fails_the_check(tmp_path: Path):
    broken = tmp_path / "alerts.yml"
    broken.write_text(RULES.read_text().replace("max by (instance) (vault_sealed)", "max by ("))
    assert check_rules(broken).returncode != 0


def test_a_wrong_threshold_fails_the_unit_tests(tmp_path: Path):
    (tmp_path / "alerts.yml").write_text(RULES.read_text().replace("> 64", "> 640"))
    (tmp_path / "alerts_test.yml").write_text(RULE_TESTS.read_text())
    result = promtool("test", "rules", tmp_path / "alerts_test.yml")
    assert result.returncode != 0
    assert "RouterQueueDepthHigh" in result.stdout + result.stderr


def test_every_promised_alert_exists():
    assert alerts() >= REQUIRED


def test_every_alert_has_a_unit_test():
    tested = set(re.findall(r"alertname: (\w+)", RULE_TESTS.read_text()))
    assert alerts() <= tested


def test_every_runbook_link_lands_on_a_heading_of_the_operations_guide():
    guide = (REPO / "docs" / "operations.md").read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.strip().lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", guide, re.M)
    }
    links = set(re.findall(r"runbook: docs/operations\.md#(\S+)", RULES.read_text()))
    assert links and links <= anchors
