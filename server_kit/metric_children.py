"""A Prometheus metric's child for one set of label values, looked up once.

`metric.labels(...)` takes the registry's lock and checks the values on every call; on a path
taken several times a turn (each store call, each RPC) that showed in the profile
(docs/architecture.md, "Where the time goes"). Only for label values from a small fixed set
(operation names, registered methods, status codes): the cache keeps every child it made.
"""

from __future__ import annotations

import functools
from typing import TypeVar

from prometheus_client.metrics import MetricWrapperBase

M = TypeVar("M", bound=MetricWrapperBase)


@functools.cache
def _child(metric: MetricWrapperBase, values: tuple[str, ...]) -> MetricWrapperBase:
    return metric.labels(*values)


def labelled(metric: M, *values: str) -> M:
    """`metric.labels(*values)`, memoized."""
    child: M = _child(metric, values)  # type: ignore[assignment]
    return child
