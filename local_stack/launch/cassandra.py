"""A real Cassandra 5.0 node from Maven jars (scripts/cassandra.sh) on free loopback ports, that
can be stopped (or killed) and started again in place; a three-node cluster of them, one per
loopback address; and where an external cluster's endpoint comes from (CASSANDRA_CONTACT_POINTS).
Used by the test fixtures (tests/fixtures/cassandra_node.py), the chaos test and the
benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "cassandra.sh"
DEFAULT_CQL_PORT = 9042
CONTACT_POINTS_ENV = "CASSANDRA_CONTACT_POINTS"
# Ports can be taken between choosing them and the node binding them: retry with new ones.
START_ATTEMPTS = 3


def parse_contact_point(contact_points: str) -> tuple[str, int]:
    """Return the first ``host[:port]`` of a comma-separated list (port 9042 by default)."""
    first = next((p.strip() for p in contact_points.split(",") if p.strip()), "")
    if not first:
        raise ValueError(f"{CONTACT_POINTS_ENV} has no host: {contact_points!r}")
    if first.startswith("["):  # [IPv6]:port or [IPv6]
        host, sep, rest = first[1:].partition("]")
        if not sep:
            raise ValueError(f"unbalanced brackets in {first!r}")
        port_text = rest.removeprefix(":") if rest.startswith(":") else ""
    elif first.count(":") == 1:  # host:port
        host, port_text = first.split(":")
    else:  # host, or a bare IPv6 address
        host, port_text = first, ""
    port = int(port_text) if port_text else DEFAULT_CQL_PORT
    if not host or not 0 < port < 65536:
        raise ValueError(f"bad contact point {first!r}")
    return host, port


def free_loopback_ports(count: int, also_on: tuple[str, ...] = ()) -> list[int]:
    """Distinct TCP ports that are free on 127.0.0.1, and on each address of ``also_on``, right
    now."""
    held: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            held.append(_bound("127.0.0.1", 0))
            port = held[-1].getsockname()[1]
            try:
                held.extend(_bound(address, port) for address in also_on)
            except OSError:  # taken on another address: stays held, so it is not drawn again
                continue
            ports.append(port)
        return ports
    finally:
        for s in held:
            s.close()


def _bound(address: str, port: int) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((address, port))
    except OSError:
        s.close()
        raise
    return s


def _run_script(*args: str) -> subprocess.CompletedProcess[str]:
    # The node's own output goes to <dir>/system.log, so capturing here cannot block on it.
    return subprocess.run(
        [str(SCRIPT), *args],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )


@dataclass(frozen=True)
class CassandraNode:
    """A node this test session started from ``scripts/cassandra.sh``."""

    run_dir: Path
    cql_port: int
    storage_port: int
    host: str = "127.0.0.1"
    seeds: str = ""  # a cluster's seed list (ADDR:PORT,...); empty: the node is its own seed
    token: int = 0

    @property
    def pid(self) -> int | None:
        """The node's process id while the node runs, else None."""
        return int(self.run_dir.joinpath("pid").read_text()) if self.running() else None

    @property
    def endpoint(self) -> tuple[str, int]:
        return self.host, self.cql_port

    def running(self) -> bool:
        return _run_script("status", "--dir", str(self.run_dir)).returncode == 0

    def stop(self) -> None:
        """SIGTERM (SIGKILL after 30 s); returns once the process is gone. Idempotent."""
        stop_node(self.run_dir)

    def kill(self, timeout_s: float = 10.0) -> None:
        """SIGKILL, as a crash would; returns once the process is gone."""
        pid = self.pid
        if pid is None:
            return
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + timeout_s
        while self.running():
            if time.monotonic() > deadline:
                raise RuntimeError(f"Cassandra (pid {pid}) still runs after SIGKILL")
            time.sleep(0.1)

    def start(self) -> None:
        """Start it again in place: same directory (its data is kept) and same ports. Returns
        once it answers CQL; a no-op if it is running. Raises if it cannot start, e.g. when
        another process took one of its ports meanwhile."""
        result = self.launch()
        if result.returncode != 0:
            raise RuntimeError(
                f"scripts/cassandra.sh could not restart the node in {self.run_dir}:\n"
                f"{result.stdout}"
            )

    def launch(self) -> subprocess.CompletedProcess[str]:
        """``scripts/cassandra.sh start`` for this node; waits until it answers CQL."""
        return _run_script(
            "start", "--dir", str(self.run_dir),
            "--port", str(self.cql_port), "--storage-port", str(self.storage_port),
            "--address", self.host, "--token", str(self.token),
            *(["--seeds", self.seeds] if self.seeds else []),
            # A watchdog stops the node if this process dies without running teardown
            # (SIGKILL, or SIGTERM, which skips Python's finally blocks).
            "--owner-pid", str(os.getpid()),
        )  # fmt: skip


def launch_node(run_dir: Path) -> CassandraNode:
    """Start a node in ``run_dir`` on free ports and return it, or raise."""
    output = ""
    for _ in range(START_ATTEMPTS):
        cql_port, storage_port = free_loopback_ports(2)
        node = CassandraNode(run_dir, cql_port, storage_port)
        result = node.launch()
        output = result.stdout
        if result.returncode == 0:
            return node
        if "already in use" not in output:
            break
    raise RuntimeError(f"scripts/cassandra.sh start failed in {run_dir}:\n{output}")


def start_node(run_dir: Path) -> tuple[str, int]:
    """Start a node in ``run_dir`` on free ports; return its CQL endpoint or raise."""
    return launch_node(run_dir).endpoint


def stop_node(run_dir: Path) -> None:
    result = _run_script("stop", "--dir", str(run_dir))
    if result.returncode != 0:
        raise RuntimeError(f"scripts/cassandra.sh stop failed in {run_dir}:\n{result.stdout}")
