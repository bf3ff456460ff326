"""Reads one value from a Prometheus text endpoint."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def metric_value(url: str, sample_name: str, labels: dict[str, str] | None = None) -> float:
    with urllib.request.urlopen(url, timeout=5) as reply:
        text = reply.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == sample_name and (
                labels is None or labels.items() <= sample.labels.items()
            ):
                return float(sample.value)
    return 0.0


def histogram_buckets(url: str, name: str) -> list[tuple[float, float]]:
    """A histogram's cumulative buckets: (upper bound, observations at or under it), in order,
    +Inf last."""
    with urllib.request.urlopen(url, timeout=5) as reply:
        text = reply.read().decode()
    buckets = [
        (float(sample.labels["le"]), float(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == f"{name}_bucket"
    ]
    return sorted(buckets)
