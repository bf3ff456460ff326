"""A real NATS server with JetStream, on free loopback ports, storing in a given folder. It can
be stopped and started again on the same ports and storage (outage tests), and take a server
configuration (users, permissions). Used by the test fixtures and the benchmarks.

`NatsCluster`: three such servers routed into one JetStream cluster (what production runs, with
streams of three replicas), which a test can SIGKILL and restart one server of at a time."""

from __future__ import annotations

import json
import shutil
import signal
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server_kit.processes import ManagedProcess, free_port


@dataclass
class NatsServer:
    store_dir: Path
    log_path: Path
    port: int = field(default_factory=free_port)
    monitor_port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None
    config_file: Path | None = None  # a server configuration (users, permissions), if any
    # A member of a cluster (NatsCluster): its name, its route port and the routes to all
    # members (itself included: the server ignores a route to itself).
    server_name: str | None = None
    cluster_name: str | None = None
    cluster_port: int | None = None
    routes: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def monitor_url(self) -> str:
        return f"http://127.0.0.1:{self.monitor_port}"

    def _argv(self, binary: str) -> list[str]:
        argv = [
            binary, "-js", "-a", "127.0.0.1", "-p", str(self.port),
            "-m", str(self.monitor_port), "-sd", str(self.store_dir),
            *(["-c", str(self.config_file)] if self.config_file else []),
        ]  # fmt: skip
        if self.cluster_port is not None:
            argv += [
                "--server_name", self.server_name or f"nats-{self.port}",
                "--cluster_name", self.cluster_name or "chat",
                "--cluster", f"nats://127.0.0.1:{self.cluster_port}",
                "--routes", ",".join(self.routes),
            ]  # fmt: skip
        return argv

    def launch(self) -> None:
        """Starts the process without waiting: a cluster member is only healthy once it has
        found the others, so a cluster launches all of them first."""
        binary = shutil.which("nats-server")
        if binary is None:  # the test command installs it: a missing binary is a setup error
            raise RuntimeError("nats-server is not installed: run scripts/setup_nats.sh")
        self.process = ManagedProcess(
            name=self.server_name or "nats",
            argv=self._argv(binary),
            log_path=self.log_path,
            ready_url=f"{self.monitor_url}/healthz",
        )
        self.process.start()

    def wait_ready(self, timeout_s: float = 20) -> None:
        """Until /healthz answers 200 (in a cluster: in contact with the meta leader and every
        stream and consumer replica here current); stopped if it never does."""
        assert self.process is not None
        try:
            self.process.wait_ready(timeout_s)
        except BaseException:
            self.stop()
            raise

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def kill(self) -> None:
        """SIGKILL (a crash: nothing flushed, no goodbye to the cluster); returns once it is
        gone."""
        if self.process is not None:
            self.process.signal(signal.SIGKILL)
            self.stop()  # reaps it at once and closes the log

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def streams(self) -> list[dict[str, Any]] | None:
        """The streams it knows of (/jsz), each with its cluster's leader; None when it does
        not answer."""
        try:
            with urllib.request.urlopen(
                f"{self.monitor_url}/jsz?accounts=true&streams=true", timeout=1
            ) as reply:
                accounts = json.load(reply).get("account_details") or []
        except (OSError, urllib.error.URLError, ValueError):
            return None
        return [detail for account in accounts for detail in account.get("stream_detail") or []]

    def meta(self) -> dict[str, Any] | None:
        """Its view of the JetStream meta group (/jsz), None when it does not answer."""
        try:
            with urllib.request.urlopen(f"{self.monitor_url}/jsz", timeout=1) as reply:
                meta: dict[str, Any] = json.load(reply).get("meta_cluster") or {}
                return meta
        except (OSError, urllib.error.URLError, ValueError):
            return None


@dataclass
class NatsCluster:
    """Three servers on loopback, one JetStream cluster: each with its own client, route and
    monitoring port, store and name. Killed and restarted servers keep their ports and store."""

    work_dir: Path
    size: int = 3
    name: str = "chat"
    servers: list[NatsServer] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.servers:
            return
        route_ports = [free_port() for _ in range(self.size)]
        routes = [f"nats://127.0.0.1:{port}" for port in route_ports]
        for i, route_port in enumerate(route_ports):
            member = NatsServer(self.work_dir / f"nats-{i}", self.work_dir / f"nats-{i}.log")
            member.server_name, member.cluster_name = f"nats-{i}", self.name
            member.cluster_port, member.routes = route_port, routes
            self.servers.append(member)

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]

    @property
    def url(self) -> str:
        """All servers, as the chat service's --queue-url takes them."""
        return ",".join(self.urls)

    def start(self, timeout_s: float = 30) -> None:
        try:
            for server in self.servers:
                server.launch()
            self.wait_ready(timeout_s)
        except BaseException:
            self.stop()
            raise

    def kill(self, i: int) -> None:
        """SIGKILL server i; returns once the process is gone. The leaders it held are elected
        elsewhere within seconds (4-7 s measured); wait_ready does not wait for that (a
        client's request does, e.g. stream_info until it names a leader)."""
        self.servers[i].kill()

    def stream_leader(self, stream: str) -> int:
        """The index of the server that leads ``stream`` now (by the first server that
        answers), or -1 if none is known."""
        names = [server.server_name for server in self.servers]
        for server in self.servers:
            for detail in server.streams() or []:
                if detail.get("name") == stream:
                    leader = (detail.get("cluster") or {}).get("leader")
                    return names.index(leader) if leader in names else -1
        return -1

    def stream_state(self, stream: str) -> dict[str, Any] | None:
        """``stream``'s state (messages, first_seq, last_seq...) as its leader reports it;
        None while no answering server leads it."""
        for server in self.servers:
            for detail in server.streams() or []:
                leader = (detail.get("cluster") or {}).get("leader")
                if detail.get("name") == stream and leader == server.server_name:
                    state: dict[str, Any] = detail.get("state") or {}
                    return state
        return None

    def restart(self, i: int, timeout_s: float = 30) -> None:
        """Server i again, on its ports and store; returns once it has caught up."""
        self.servers[i].launch()
        self.wait_ready(timeout_s)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def wait_ready(self, timeout_s: float = 30) -> None:
        """Until every running server is healthy (its stream and consumer replicas current),
        they agree on one meta leader and that leader sees the others current."""
        deadline = time.monotonic() + timeout_s
        running = [s for s in self.servers if s.process is not None]
        for server in running:
            server.wait_ready(max(0.1, deadline - time.monotonic()))
        while not self._meta_current(running):
            if time.monotonic() > deadline:
                raise TimeoutError(f"NATS cluster not formed after {timeout_s:.0f}s")
            time.sleep(0.1)

    @staticmethod
    def _meta_current(running: list[NatsServer]) -> bool:
        views = [server.meta() for server in running]
        leaders = {view.get("leader") if view else None for view in views}
        if len(leaders) != 1 or None in leaders or "" in leaders:
            return False
        (leader,) = leaders
        view = next(
            (v for s, v in zip(running, views, strict=True) if s.server_name == leader), None
        )
        if view is None:  # a leader that is gone (not noticed yet)
            return False
        current = {r["name"] for r in view.get("replicas") or [] if r.get("current")}
        return all(s.server_name in current for s in running if s.server_name != leader)
