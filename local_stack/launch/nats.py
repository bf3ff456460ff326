"""A real NATS server with JetStream, on free loopback ports, storing in a given folder. It can
be stopped and started again on the same ports and storage (outage tests), and take a server
configuration (users, permissions). Used by the test fixtures and the benchmarks."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from server_kit.processes import ManagedProcess, free_port


@dataclass
class NatsServer:
    store_dir: Path
    log_path: Path
    port: int = field(default_factory=free_port)
    monitor_port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None
    config_file: Path | None = None  # a server configuration (users, permissions), if any

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = shutil.which("nats-server")
        if binary is None:  # the test command installs it: a missing binary is a setup error
            raise RuntimeError("nats-server is not installed: run scripts/setup_nats.sh")
        self.process = ManagedProcess(
            name="nats",
            argv=[
                binary, "-js", "-a", "127.0.0.1", "-p", str(self.port),
                "-m", str(self.monitor_port), "-sd", str(self.store_dir),
                *(["-c", str(self.config_file)] if self.config_file else []),
            ],
            log_path=self.log_path,
            ready_url=f"http://127.0.0.1:{self.monitor_port}/healthz",
        )  # fmt: skip
        self.process.start()
        try:
            self.process.wait_ready(20)
        except BaseException:
            self.process.stop()
            raise

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
