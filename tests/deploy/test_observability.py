"""Alerting rules (deploy/prometheus/alerts.yaml) and the Grafana dashboard
(deploy/grafana/chatstack.json): promtool checks and unit-tests the rules, and every metric
they query must be one the services declare (or Envoy's, or Prometheus' `up`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.deploy.tools import ALERTS, DASHBOARD, ROOT, run, tool

SERVICE_PACKAGES = ("server_kit", "chat_service", "inference_service", "embedding_service")
# Metric families that are not declared in our code: Envoy's stats and the scrape health.
EXTERNAL = re.compile(r"^(envoy_[a-z0-9_]+|up)$")
DECLARATION = re.compile(r"\b(Counter|Gauge|Histogram|Summary)\(\s*[\"']([a-zA-Z_:][\w:]*)[\"']")
SUFFIXES = {
    "Counter": ("_total", "_created"),
    "Gauge": ("",),
    "Histogram": ("_bucket", "_sum", "_count", "_created"),
    "Summary": ("", "_sum", "_count", "_created"),
}
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset", "inf", "nan",
}  # fmt: skip
RULE_TESTS = ROOT / "deploy" / "prometheus" / "alerts_test.yaml"


def declared_metrics() -> set[str]:
    """Every series name the services expose, from the prometheus_client declarations (the
    client strips a counter's _total and adds it back, with _created, on exposition)."""
    names: set[str] = set()
    for package in SERVICE_PACKAGES:
        for source in (ROOT / package).rglob("*.py"):
            for kind, name in DECLARATION.findall(source.read_text()):
                base = name.removesuffix("_total") if kind == "Counter" else name
                names.update(base + suffix for suffix in SUFFIXES[kind])
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (a small tokenizer: enough for our rules)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges, subqueries
    grouping = r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"
    text = re.sub(grouping, " ", text)
    text = re.sub(r"\$\{?\w+\}?", " ", text)  # Grafana variables
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][\w:]*)(\s*\()?", text):
        word, call = match.group(1), match.group(2)
        if call or word.lower() in PROMQL_WORDS:
            continue
        names.add(word)
    return names


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_panels() -> Iterator[dict[str, Any]]:
    def walk(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for panel in panels:
            yield panel
            yield from walk(panel.get("panels", []))

    yield from walk(json.loads(DASHBOARD.read_text())["panels"])


def dashboard_exprs() -> list[str]:
    return [t["expr"] for p in dashboard_panels() for t in p.get("targets", []) if "expr" in t]


# --- the name extraction itself --------------------------------------------------------------


def test_metric_names_tokenizer() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (job, le) (rate(x_bucket{job=~"a-.*", code!="OK"}[5m])))'
        " / on (job) group_left sum(rate(y_total[$__rate_interval])) > 0.5 and up == 0"
    )
    assert metric_names(expr) == {"x_bucket", "y_total", "up"}


def test_declared_metrics_cover_the_readme_list() -> None:
    names = declared_metrics()
    for name in (
        "inference_time_to_first_token_seconds_bucket", "inference_queue_depth",
        "inference_running_requests", "inference_generated_tokens_total",
        "chat_turns_total", "chat_store_errors_total", "chat_store_operation_seconds_count",
        "grpc_server_handled_total", "embedding_texts_total", "embedding_batch_texts_bucket",
    ):  # fmt: skip
        assert name in names, name


# --- rules ----------------------------------------------------------------------------------


def test_promtool_check_rules() -> None:
    out = run([tool("promtool"), "check", "rules", ALERTS])
    assert f"SUCCESS: {len(alert_rules())} rules found" in out


def test_promtool_rule_unit_tests() -> None:
    """deploy/prometheus/alerts_test.yaml: synthetic series -> the alerts that must fire."""
    out = run([tool("promtool"), "test", "rules", RULE_TESTS])
    assert "SUCCESS" in out


def test_rules_are_well_formed() -> None:
    """What promtool checks about structure, in Python too (runs even without promtool)."""
    names = [rule["alert"] for rule in alert_rules()]
    assert len(names) == len(set(names)), "alert names must be unique"
    for rule in alert_rules():
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert re.fullmatch(r"Chatstack[A-Z][A-Za-z0-9]+", rule["alert"])
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert {"summary", "description"} <= rule["annotations"].keys(), rule["alert"]
        expr = rule["expr"]
        assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}")
        assert metric_names(expr), f"{rule['alert']} selects no metric"


def test_rules_cover_the_required_signals() -> None:
    used = set().union(*(metric_names(rule["expr"]) for rule in alert_rules()))
    for name in (
        "inference_time_to_first_token_seconds_bucket",
        "chat_time_to_first_token_seconds_bucket",
        "grpc_server_handled_total",
        "inference_queue_depth",
        "chat_store_errors_total",
        "chat_cache_errors_total",
        "chat_cache_lookups_total",
        "up",
    ):
        assert name in used, f"no alert on {name}"
    error_ratio = next(
        r for r in alert_rules() if r["alert"] == "ChatstackGrpcServerErrorRatioHigh"
    )
    assert 'code!="OK"' in error_ratio["expr"]


@pytest.mark.parametrize("source", ["alerts", "dashboard"], ids=["alerts.yaml", "chatstack.json"])
def test_every_queried_metric_exists(source: str) -> None:
    exprs = [r["expr"] for r in alert_rules()] if source == "alerts" else dashboard_exprs()
    declared = declared_metrics()
    unknown = {
        name
        for expr in exprs
        for name in metric_names(expr)
        if name not in declared and not EXTERNAL.match(name)
    }
    assert not unknown, f"metrics queried but declared nowhere in {SERVICE_PACKAGES}: {unknown}"


# --- dashboard ------------------------------------------------------------------------------


def test_dashboard_is_importable() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    panels = list(dashboard_panels())
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]


def test_dashboard_covers_the_required_views() -> None:
    used = set().union(*(metric_names(expr) for expr in dashboard_exprs()))
    for name in (
        "inference_time_to_first_token_seconds_bucket",  # TTFT p50/p95
        "chat_time_to_first_token_seconds_bucket",
        "inference_inter_token_latency_seconds_bucket",  # ITL
        "inference_generated_tokens_total",  # tokens/s
        "chat_turns_total",  # turns by outcome
        "inference_queue_depth",
        "inference_running_requests",
        "chat_store_operation_seconds_bucket",  # store latency
        "chat_cache_lookups_total",  # cache hit ratio
        "envoy_http_downstream_rq_total",  # Envoy request rate
        "envoy_http_downstream_rq_xx",  # Envoy 5xx
    ):
        assert name in used, f"no panel on {name}"
    exprs = "\n".join(dashboard_exprs())
    assert "histogram_quantile(0.5," in exprs and "histogram_quantile(0.95," in exprs
    assert 'result="hit"' in exprs
    assert 'envoy_response_code_class="5"' in exprs


def test_alerts_and_dashboard_select_the_scrape_jobs() -> None:
    """The ServiceMonitor names jobs chatstack-<component>; everything filters on that."""
    for expr in [r["expr"] for r in alert_rules()] + dashboard_exprs():
        assert 'job=~"chatstack-.*"' in expr, expr


def test_rule_unit_tests_cover_every_alert() -> None:
    tests = yaml.safe_load(RULE_TESTS.read_text())
    assert tests["rule_files"] == ["alerts.yaml"]
    tested = {
        case["alertname"]
        for group in tests["tests"]
        for case in group.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert tested == {rule["alert"] for rule in alert_rules()}
