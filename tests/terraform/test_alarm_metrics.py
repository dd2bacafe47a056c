"""Every metric of the Strongroom namespace that an alarm or an autoscaling policy reads is
one a service publishes: an alarm on a series nobody publishes never fires."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from prometheus_client import CollectorRegistry

from api.metrics import dead_letter_counter
from edge_proxy.metrics import Metrics as EdgeMetrics
from fraud.metrics import Metrics as FraudMetrics
from servicekit.metrics import HttpMetrics
from tests.terraform.hcl import Account
from vault_operator.metrics import VaultMetrics

REPO = Path(__file__).resolve().parents[2]
# Collectors that read their values at scrape time declare their families in the source.
COLLECTORS = ("api/metrics.py", "router/metrics.py", "vault_operator/metrics.py")
_FAMILY = re.compile(r"(Gauge|Counter)MetricFamily\(\s*\"([a-z_]+)\"")
_NAMESPACE = re.compile(r"namespace['\"]?\s*[:=]\s*['\"]([^'\"]+)['\"]")
_METRIC = re.compile(r"(?:metric_name|numerator|denominator)['\"]?\s*[:=]\s*['\"]([^'\"$]+)['\"]")


def published() -> set[str]:
    """The sample names the services expose."""
    registry = CollectorRegistry()
    HttpMetrics(registry)
    VaultMetrics(registry)
    dead_letter_counter(registry)
    registries = [registry, FraudMetrics().registry, EdgeMetrics().registry]
    names = {sample.name for r in registries for family in r.collect() for sample in family.samples}
    # A family with no child yet shows no sample: its name and the usual suffixes.
    for r in registries:
        for family in r.collect():
            suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum", ""]}
            names |= {family.name + s for s in suffixes.get(family.type, [""])}
    for path in COLLECTORS:
        for kind, name in _FAMILY.findall((REPO / path).read_text()):
            names.add(name + "_total" if kind == "Counter" else name)
    return names


def read_by_alarms(account: Account) -> set[str]:
    names: set[str] = set()
    for call, _ in account.calls_of("alarms"):
        text = str(call.body.get("alarms", "")) + str(call.body.get("rate_alarms", ""))
        spans = [(m.start(), m.group(1)) for m in _NAMESPACE.finditer(text)] + [(len(text), "")]
        for (start, namespace), (end, _) in itertools.pairwise(spans):
            if namespace == "Strongroom":
                names |= set(_METRIC.findall(text[start:end]))
    for call, _ in account.calls_of("service"):
        for policy in (call.body.get("custom_scaling") or {}).values():
            names.add(policy["metric_name"])
    return names


def test_every_alarm_and_scaling_metric_is_published(account: Account):
    read = read_by_alarms(account)
    assert read, "no alarm reads a Strongroom metric"
    assert read - published() == set()


def test_an_unpublished_name_is_caught():
    assert "http_request_duration_p99_seconds" not in published()
    assert {"http_server_errors_total", "http_request_duration_seconds"} <= published()
