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


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def start_milvus_lite_server(work: Path, timeout_s: float = 60) -> tuple[ManagedProcess, int]:
    """A server on a free port with its data in `work`, ready once it listens (it opens its
    data directory first)."""
    port = free_port()
    process = ManagedProcess(
        name="milvus", argv=milvus_lite_argv(work / "cache.db", port), log_path=work / "milvus.log"
    )
    process.start()
    deadline = time.monotonic() + timeout_s
    try:
        while not listening(port):
            if not process.alive():
                raise RuntimeError(f"milvus-lite server exited:\n{process.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"milvus-lite server not listening after {timeout_s:.0f}s")
            time.sleep(0.2)
    except BaseException:
        process.stop()
        raise
    return process, port
