"""`make run`: starts every service on loopback with the embedded defaults, waits until all are
healthy, prints how to talk to them, and on Ctrl-C (or if any service dies) stops them all in
reverse order. Each service logs to .run/logs/<name>.log.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from server_kit.processes import ManagedProcess, python_module

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / ".run"


def build_stack(args: argparse.Namespace) -> list[ManagedProcess]:
    logs = RUN_DIR / "logs"
    common = {"OMP_WAIT_POLICY": "PASSIVE"}

    def service(
        name: str, module: str, port: int, metrics_port: int, *extra: str
    ) -> ManagedProcess:
        return ManagedProcess(
            name=name,
            argv=python_module(
                module, "--port", str(port), "--metrics-port", str(metrics_port), *extra
            ),
            log_path=logs / f"{name}.log",
            env=common,
            grpc_address=f"127.0.0.1:{port}",
        )

    return [
        service("embedding", "embedding_service", args.embedding_port, args.embedding_port + 1000),
        service(
            "inference",
            "inference_service",
            args.inference_port,
            args.inference_port + 1000,
            "--instances",
            str(args.inference_instances),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the whole system locally")
    parser.add_argument("--inference-port", type=int, default=50052)
    parser.add_argument("--embedding-port", type=int, default=50053)
    parser.add_argument("--inference-instances", type=int, default=1)
    parser.add_argument("--start-timeout", type=float, default=300)
    args = parser.parse_args()

    stack = build_stack(args)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    started: list[ManagedProcess] = []
    exit_code = 0
    try:
        for process in stack:
            print(f"==> starting {process.name} (log: {process.log_path.relative_to(ROOT)})")
            process.start()
            started.append(process)
        for process in stack:
            process.wait_ready(args.start_timeout)
            print(f"    {process.name} is healthy at {process.grpc_address}")
        print_welcome(args)
        while not stop.wait(0.5):
            dead = [p.name for p in started if not p.alive()]
            if dead:
                print(f"!! {', '.join(dead)} exited; stopping everything", file=sys.stderr)
                for process in started:
                    if not process.alive():
                        print(process.log_tail(20), file=sys.stderr)
                break
    except (RuntimeError, TimeoutError) as exc:
        print(f"!! {exc}", file=sys.stderr)
        exit_code = 1
    finally:
        print("==> stopping")
        for process in reversed(started):
            process.stop()
        print("==> stopped")
    sys.exit(exit_code)


def print_welcome(args: argparse.Namespace) -> None:
    print(
        f"""
All services are up. Try:

  .venv/bin/python -m inference_service.cli --address 127.0.0.1:{args.inference_port} \\
      "Write a haiku about the sea."

Metrics: http://127.0.0.1:{args.inference_port + 1000}/metrics (inference),
         http://127.0.0.1:{args.embedding_port + 1000}/metrics (embedding)
Logs:    .run/logs/
Press Ctrl-C to stop everything.
""",
        flush=True,
    )


if __name__ == "__main__":
    main()
