"""server_kit.interceptors.ObservingInterceptor's observers of one RPC: an observer with nothing
to watch (INERT: tracing off, no caller's trace) is left out, so the other runs alone; several
enter their steps in order and end in reverse."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc

from server_kit.interceptors import INERT, ObservingInterceptor, RpcObserver
from server_kit.tracing import server_span


class Recorder:
    """Test double: an observer that writes down what it saw."""

    def __init__(self, name: str, seen: list[str]) -> None:
        self.name, self.seen = name, seen

    @contextmanager
    def _step(self) -> Iterator[None]:
        self.seen.append(f"{self.name} in")
        yield
        self.seen.append(f"{self.name} out")

    def step(self) -> Any:
        return self._step()

    def end(self, code: str) -> None:
        self.seen.append(f"{self.name} end {code}")


def details(metadata: tuple[tuple[str, str], ...] = ()) -> grpc.HandlerCallDetails:
    class Details(grpc.HandlerCallDetails):
        method = "/pkg.Service/Method"
        invocation_metadata = metadata

    return Details()


def test_an_inert_observer_is_left_out() -> None:
    seen: list[str] = []
    recorder = Recorder("timer", seen)
    interceptor = ObservingInterceptor(lambda m, d: INERT, lambda m, d: recorder)
    assert interceptor._observe("/pkg.Service/Method", details()) is recorder


def test_untraced_rpcs_get_the_inert_observer_and_traced_ones_a_span() -> None:
    assert server_span("/pkg.Service/Method", details()) is INERT
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    assert server_span("/pkg.Service/Method", details((("traceparent", parent),))) is not INERT


def test_several_observers_step_in_order_and_end_in_reverse() -> None:
    seen: list[str] = []
    interceptor = ObservingInterceptor(
        lambda m, d: Recorder("a", seen), lambda m, d: INERT, lambda m, d: Recorder("b", seen)
    )
    observer: RpcObserver = interceptor._observe("/pkg.Service/Method", details())
    with observer.step():
        seen.append("handler")
    observer.end("OK")
    assert seen == ["a in", "b in", "handler", "b out", "a out", "b end OK", "a end OK"]
