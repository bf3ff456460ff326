"""Milvus Lite served on a loopback port (`milvus-lite server`), for several chat processes to
share one answer cache: `make run` with chat replicas, the replica tests.

One worker thread: the Lite engine is not safe for concurrent writes to a collection (see
milvus_lite/adapter/grpc/server.py), and the replicas' writes come from several processes.
SIGTERM is handled like Ctrl-C: the server stops serving and closes its data directory cleanly
(a SIGKILL loses nothing either: its write-ahead log is replayed).
"""

from __future__ import annotations

import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from server_kit.processes import ManagedProcess, free_port

_SERVER = (
    "import signal, sys; signal.signal(signal.SIGTERM, signal.default_int_handler); "
    "from milvus_lite.cmdline import main; sys.exit(main())"
)


def milvus_lite_argv(data_dir: Path, port: int) -> list[str]:
    return [
        sys.executable, "-c", _SERVER, "server", "--data-dir", str(data_dir),
        "--host", "127.0.0.1", "--port", str(port), "--max-workers", "1",
    ]  # fmt: skip


@dataclass
class PortProcess(ManagedProcess):
    """A process without a health endpoint, ready once it accepts connections on `port`."""

    port: int = 0

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"{self.name} not listening after {timeout_s:.0f}s:\n{self.log_tail()}"
                    ) from None
                time.sleep(0.2)


def milvus_lite_process(data_dir: Path, port: int, log_path: Path) -> PortProcess:
    return PortProcess(
        name="milvus", argv=milvus_lite_argv(data_dir, port), log_path=log_path, port=port
    )


def start_milvus_lite_server(work: Path, timeout_s: float = 60) -> tuple[ManagedProcess, int]:
    """A server on a free port with its data in `work`, ready once it listens (it opens its
    data directory first)."""
    process = milvus_lite_process(work / "cache.db", free_port(), work / "milvus.log")
    process.start()
    try:
        process.wait_ready(timeout_s)
    except BaseException:
        process.stop()
        raise
    return process, process.port
