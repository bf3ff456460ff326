"""Starting, health-polling and stopping service processes: used by the local launcher and by
the real-server tests, so both run the services exactly the same way."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def _ephemeral_ports() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


# Ports handed out lately: a port is free until its owner binds it, so two calls in a row could
# otherwise return the same one (a server's client and monitoring ports, say).
_RECENT_PORTS: collections.deque[int] = collections.deque(maxlen=512)


def free_port(host: str = "127.0.0.1") -> int:
    port = _free_port(host)
    for _ in range(100):
        if port not in _RECENT_PORTS:
            break
        port = _free_port(host)
    _RECENT_PORTS.append(port)
    return port


def _free_port(host: str) -> int:
    """A port free now, below the kernel's ephemeral range when there is room. A port from
    bind(0) lies inside that range, where the kernel also picks the source ports of outgoing
    connections: a client dialling a server that is not listening yet (a chat service dialling
    Envoy's internal listener before Envoy starts) can get a connection to itself on that very
    port (TCP simultaneous open), and the server then fails to bind it."""
    low, _ = _ephemeral_ports()
    if low > 12_000:
        for _ in range(200):
            port = random.randint(10_000, low - 1)
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind((host, port))
                except OSError:
                    continue
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        bound: int = s.getsockname()[1]
        return bound


def is_serving(address: str, timeout_s: float = 1.0) -> bool:
    """One standard gRPC health check of the server as a whole."""
    try:
        with grpc.insecure_channel(address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout_s)
            return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
    except grpc.RpcError:
        return False


def http_ok(url: str, timeout_s: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as reply:
            return bool(reply.status == 200)
    except (OSError, urllib.error.URLError):
        return False


@dataclass
class ManagedProcess:
    name: str
    argv: Sequence[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    grpc_address: str | None = None  # polled for gRPC health when set
    ready_url: str | None = None  # or an HTTP URL polled until it answers 200
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        # Own session: a Ctrl-C in the terminal reaches the launcher, which stops children in
        # order; and the whole group can be killed if a child spawned helpers.
        self.proc = subprocess.Popen(
            list(self.argv),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **self.env},
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            if self.grpc_address is not None:
                if is_serving(self.grpc_address):
                    return
            elif self.ready_url is None or http_ok(self.ready_url):
                return
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not healthy after {timeout_s:.0f}s:\n{self.log_tail()}")

    def signal(self, sig: int) -> None:
        if self.alive():
            assert self.proc is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    def stop(self, timeout_s: float = 15.0) -> int | None:
        """SIGTERM, then SIGKILL after the timeout. Returns the exit code."""
        if self.proc is None:
            return None
        self.signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            code = self.proc.wait(5)
        if self._log:
            self._log.close()
            self._log = None
        return code


def python_module(module: str, *args: str, python: str | None = None) -> list[str]:
    return [python or sys.executable, "-m", module, *args]


def service_process(
    log_dir: Path,
    name: str,
    module: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    python: str | None = None,
    source: Path | None = None,
) -> tuple[ManagedProcess, str, str]:
    """One of our services (`python -m module`) on free loopback ports, not started yet:
    (the process, its gRPC address, its metrics URL). Tests and benchmarks use it. `python`:
    another environment's interpreter (the vLLM engine runs in .venv-vllm); `source`: another
    checkout whose code runs (a baseline a benchmark measures side by side)."""
    port, metrics_port = free_port(), free_port()
    address = f"127.0.0.1:{port}"
    ports = ("--port", str(port), "--metrics-port", str(metrics_port))
    argv = python_module(module, *ports, *args, python=python)
    extra_env: dict[str, str] = {}
    if source is not None:  # -P: that checkout on PYTHONPATH, not the working directory
        argv = [argv[0], "-P", *argv[1:]]
        extra_env["PYTHONPATH"] = str(source)
    process = ManagedProcess(
        name=name,
        argv=argv,
        log_path=log_dir / f"{name}.log",
        env={"OMP_WAIT_POLICY": "PASSIVE", **(env or {}), **extra_env},
        grpc_address=address,
    )
    return process, address, f"http://127.0.0.1:{metrics_port}/metrics"


async def start_service(process: ManagedProcess, timeout_s: float = 180) -> None:
    """Starts the process and waits (off the event loop) until it is healthy."""
    process.start()
    await asyncio.to_thread(process.wait_ready, timeout_s)
