"""server_kit.metric_children: a labelled child is the registry's own, looked up once."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from server_kit.metric_children import labelled


def test_a_child_is_the_registrys_and_counts_there() -> None:
    counter = Counter("test_calls", "calls", ["op"], registry=CollectorRegistry())
    child = labelled(counter, "read")
    assert child is counter.labels("read")
    assert labelled(counter, "read") is child
    child.inc()
    labelled(counter, "write").inc(2)
    assert counter.labels("read")._value.get() == 1
    assert counter.labels("write")._value.get() == 2
