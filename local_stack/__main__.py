"""`make run`: starts every service on loopback with the embedded defaults (embedding,
inference with llama.cpp + SmolLM2, chat with SQLite, the web UI's static server, Envoy in
front), waits until all are healthy, prints the UI's URL, a token and a ready-to-paste curl, and
on Ctrl-C (or if any service dies) stops them all in reverse order. Each service logs to
.run/logs/<name>.log.

The web UI (web/, built into web/dist by scripts/build_web.sh, which skips an up-to-date
build) is served by web_static with development tokens on: its sign-in page gives any user
name a token from the local issuer. Without npm and without a build, the stack runs without UI.

Replicas: `--chat-replicas N` and `--inference-replicas N` run N processes of a service on
consecutive ports, balanced, health-checked and ejected on failure by Envoy (see
gateway/envoy_config.py): the chat replicas behind the public listener, the inference replicas
behind the internal one, through which the chat service reaches inference and embedding, as in
production. The chat replicas share everything a turn needs, so any of them can serve any
request: the history store (the SQLite file in WAL mode, or Cassandra), NATS, and the answer
cache. Milvus Lite in process allows one process per data directory, so with more than one
chat replica the cache's data directory (.run/cache.db, the same one) is served by a Milvus
Lite server (`milvus-lite server`, on --cache-port) that every replica connects to.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

from gateway.config import GatewaySettings
from gateway.envoy_config import write_config
from gateway.jwt_keys import init_keys, mint_token
from gateway.local_tls import CERT_FILE, ensure_local_certificate
from local_stack.auth import chat_identity_args, jwks_process, service_token
from local_stack.engines import engine_options
from local_stack.guards import check_dev_sign_in_stays_local, private_run_dir
from local_stack.launch import envoy as envoy_launch
from local_stack.launch.milvus import milvus_lite_process
from local_stack.options import (
    chat_ports,
    inference_ports,
    openai_port,
    parse_args,
    shared_cache,
)
from server_kit.processes import ManagedProcess, python_module

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / ".run"
LOGS = RUN_DIR / "logs"
WEB_DIST = ROOT / "web" / "dist"
TLS_DIR = RUN_DIR / "tls"  # --tls: the gateway's self-signed certificate and key
CACHE_DIR = RUN_DIR / "cache.db"  # Milvus Lite's data directory, in process or served


def grpc_service(
    name: str, module: str, port: int, *extra: str, python: str | None = None
) -> ManagedProcess:
    ports = ("--port", str(port), "--metrics-port", str(port + 1000))
    return ManagedProcess(
        name=name,
        argv=python_module(module, *ports, *extra, python=python),
        log_path=LOGS / f"{name}.log",
        env={"OMP_WAIT_POLICY": "PASSIVE"},
        grpc_address=f"127.0.0.1:{port}",
    )


def build_web() -> bool:
    """Builds the UI unless web/dist is up to date (the script keeps a stamp of the sources).
    False when there is no build and none can be made (no npm): the stack runs without UI."""
    if shutil.which("npm") is None:
        if (WEB_DIST / "index.html").is_file():
            return True
        print("!! npm not found and no web/dist build: starting without the web UI")
        return False
    result = subprocess.run([str(ROOT / "scripts" / "build_web.sh")], cwd=ROOT, check=False)
    if result.returncode != 0:
        raise SystemExit("building the web UI failed (scripts/build_web.sh); see above")
    return (WEB_DIST / "index.html").is_file()


def web_process(args: argparse.Namespace) -> ManagedProcess:
    """The UI's static server, with the development sign-in (tokens from the local issuer)."""
    return ManagedProcess(
        name="web",
        argv=python_module(
            "web_static", "--port", str(args.web_port), "--root", str(WEB_DIST),
            "--dev-tokens", "--keys-dir", str(RUN_DIR / "keys"), "--log-level", "INFO",
        ),
        log_path=LOGS / "web.log",
        ready_url=f"http://127.0.0.1:{args.web_port}/ui-config.json",
    )  # fmt: skip


def tls_files(args: argparse.Namespace) -> tuple[Path | None, Path | None]:
    """--tls: HTTPS on the gateway with a self-signed certificate for this machine."""
    return ensure_local_certificate(TLS_DIR) if args.tls else (None, None)


def envoy_process(args: argparse.Namespace) -> tuple[ManagedProcess, GatewaySettings]:
    cert, key = tls_files(args)
    settings = GatewaySettings(
        listen_port=args.http_port,
        admin_port=args.envoy_admin_port,
        internal_port=args.internal_port,
        chat_upstreams=[f"127.0.0.1:{port}" for port in chat_ports(args)],
        inference_upstreams=[f"127.0.0.1:{port}" for port in inference_ports(args)],
        embedding_upstreams=[f"127.0.0.1:{args.embedding_port}"],
        web_upstreams=[f"127.0.0.1:{args.web_port}"] if args.web else [],
        openai_upstreams=[f"127.0.0.1:{openai_port(port)}" for port in chat_ports(args)],
        keys_dir=RUN_DIR / "keys",
        jwks_file_server=f"127.0.0.1:{args.jwks_port}",
        tls_cert_file=cert,
        tls_key_file=key,
    )
    check_dev_sign_in_stays_local(settings.listen_host, args.web)
    init_keys(settings.keys_dir)  # generates the local signing key on the first run
    config = write_config(settings, RUN_DIR / "envoy.yaml")
    process = envoy_launch.envoy_process(
        config, LOGS / "envoy.log", args.envoy_admin_port, concurrency=2, base_id=args.http_port
    )
    return process, settings


def nats_process(args: argparse.Namespace) -> ManagedProcess:
    """NATS with JetStream: the chat service's work queue (summaries, cache writes and
    invalidations), persisted in .run/nats so queued jobs survive a restart."""
    binary = shutil.which("nats-server")
    if binary is None:
        raise SystemExit("nats-server is not installed: run `make setup` (scripts/setup_nats.sh)")
    return ManagedProcess(
        name="nats",
        argv=[
            binary, "-js", "-a", "127.0.0.1", "-p", str(args.nats_port),
            "-m", str(args.nats_port + 1000), "-sd", str(RUN_DIR / "nats"),
        ],
        log_path=LOGS / "nats.log",
        ready_url=f"http://127.0.0.1:{args.nats_port + 1000}/healthz",
    )  # fmt: skip


def milvus_process(args: argparse.Namespace) -> ManagedProcess:
    """The answer cache's Milvus Lite data directory served to every chat replica."""
    return milvus_lite_process(CACHE_DIR, args.cache_port, LOGS / "milvus.log")


def build_stack(args: argparse.Namespace) -> tuple[list[ManagedProcess], GatewaySettings]:
    store = ["--store", args.store]
    if args.store == "sqlite":
        store += ["--sqlite-path", str(RUN_DIR / "chat.db")]
    else:
        store += ["--cassandra-contact-points", args.cassandra_host,
                  "--cassandra-port", str(args.cassandra_port)]  # fmt: skip
    envoy, gateway = envoy_process(args)
    jwks = jwks_process(gateway.keys_dir, args.jwks_port, LOGS)
    token = str(service_token(RUN_DIR))
    replicas = inference_ports(args)
    try:
        python, engine = engine_options(args.engine, args.inference_instances)
    except FileNotFoundError as exc:
        raise SystemExit(str(exc)) from None
    inference = [
        grpc_service(
            "inference" if len(replicas) == 1 else f"inference-{i}",
            "inference_service",
            port,
            *engine,
            "--caller-token-file",
            token,
            python=python,
        )
        for i, port in enumerate(replicas)
    ]
    cache_uri = f"http://127.0.0.1:{args.cache_port}" if shared_cache(args) else str(CACHE_DIR)
    chat_args = [
        "--inference-address", f"127.0.0.1:{args.internal_port}",
        "--embedding-address", f"127.0.0.1:{args.internal_port}",
        "--cache-uri", cache_uri,
        *(["--queue-url", f"nats://127.0.0.1:{args.nats_port}"] if args.queue else []),
        *store,
        *chat_identity_args(gateway),
        "--service-token-file", token,
    ]  # fmt: skip
    # Chat starts before Envoy: it connects to the internal listener lazily, on its first turn.
    chat = [
        grpc_service(
            "chat" if args.chat_replicas == 1 else f"chat-{i}",
            "chat_service",
            port,
            *chat_args,
            *("--openai-port", str(openai_port(port))),
        )
        for i, port in enumerate(chat_ports(args))
    ]
    embedding = grpc_service(
        "embedding", "embedding_service", args.embedding_port, "--caller-token-file", token
    )
    web = [web_process(args)] if args.web else []
    queue = [nats_process(args)] if args.queue else []
    milvus = [milvus_process(args)] if shared_cache(args) else []
    return [*queue, *milvus, embedding, *inference, *chat, *web, jwks, envoy], gateway


def main() -> None:
    args = parse_args()
    private_run_dir(RUN_DIR)
    if args.web:
        args.web = build_web()
    stack, gateway = build_stack(args)
    sys.exit(run(stack, args, gateway))


def run(stack: list[ManagedProcess], args: argparse.Namespace, gateway: GatewaySettings) -> int:
    """Starts the processes in order, each once the one before is ready; then watches them
    until Ctrl-C (or one exits), and stops them in reverse order."""
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
    return exit_code


def print_welcome(args: argparse.Namespace, gateway: GatewaySettings) -> None:
    # The certificate names localhost (and 127.0.0.1): with TLS, the URL a browser checks.
    base = (
        f"https://localhost:{args.http_port}" if args.tls else f"http://127.0.0.1:{args.http_port}"
    )
    token = mint_token(gateway.keys_dir, "demo", ttl_s=12 * 3600)  # under jwt_max_lifetime_s
    request = urllib.request.Request(
        f"{base}/chat",
        data=json.dumps({"title": "Welcome"}).encode(),
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
        method="POST",
    )
    context = ssl.create_default_context(cafile=str(TLS_DIR / CERT_FILE)) if args.tls else None
    with urllib.request.urlopen(request, timeout=30, context=context) as reply:
        chat_id = json.load(reply)["chat"]["chat_id"]
    curl = f"curl --cacert {(TLS_DIR / CERT_FILE).relative_to(ROOT)}" if args.tls else "curl"
    replicas = inference_ports(args)
    metrics = ", ".join(f":{port + 1000}" for port in replicas)
    chats = chat_ports(args)
    chat_metrics = ", ".join(f":{port + 1000}" for port in chats)
    cache = (
        f"Milvus Lite server 127.0.0.1:{args.cache_port}, shared by the chat replicas"
        if shared_cache(args)
        else "Milvus Lite in the chat process"
    )
    ui = (
        f"Web UI:  {base}/   (open it in a browser; sign in with any user name)"
        if args.web
        else "Web UI:  off (--no-web, or no npm to build web/)"
    )
    print(
        f"""
All services are up.

  {ui}

API: {base}

  export TOKEN={token}
  {curl} -N -X POST {base}/chat/{chat_id}/completion \\
       -H "authorization: Bearer $TOKEN" -d '{{"content": "Write a haiku about the sea."}}'

More: {curl} {base}/chats -H "authorization: Bearer $TOKEN"
OpenAI SDKs and tools: base URL {base}/v1, API key: $TOKEN, or a key of your own
  ({curl} -X POST {base}/api-keys -H "authorization: Bearer $TOKEN" -d '{{"name": "sdk"}}')
Tokens for other users: .venv/bin/python -m gateway.token <user name>
Chat from the terminal: .venv/bin/python -m chat_service.cli --token $TOKEN
Chat: {len(chats)} replica(s) behind Envoy {base}; inference: {len(replicas)} replica(s) \
on {args.engine} \
behind Envoy's internal listener 127.0.0.1:{args.internal_port} \
(state: curl 127.0.0.1:{args.envoy_admin_port}/clusters)
Answer cache: {cache} ({CACHE_DIR.relative_to(ROOT)})
Metrics: chat {chat_metrics}, inference {metrics}, \
embedding :{args.embedding_port + 1000}, Envoy :{args.envoy_admin_port}/stats/prometheus
Logs:    .run/logs/      Press Ctrl-C to stop everything.
""",
        flush=True,
    )


if __name__ == "__main__":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    main()
