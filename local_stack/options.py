"""`make run`'s options (python -m local_stack --help), and the ports they lay out: unset ports
follow the replicas before them; every port must be distinct."""

from __future__ import annotations

import argparse

DEFAULT_CHAT_PORT = 50051


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the whole system locally")
    # Plain helpers rather than argparse groups: --help keeps one flat options list. The order
    # of the calls is the order of --help.
    add_port_options(parser)
    add_process_options(parser)
    add_store_options(parser)
    add_web_options(parser)
    add_queue_options(parser)
    parser.add_argument("--start-timeout", type=float, default=300)
    args = parser.parse_args(argv)
    for option in ("chat_replicas", "inference_replicas"):
        if getattr(args, option) < 1:
            parser.error(f"--{option.replace('_', '-')} must be at least 1")
    place_ports(args)
    check_ports(args)
    return args


def add_port_options(parser: argparse.ArgumentParser) -> None:
    """Envoy's ports and the first replica's port of each service (None: placed by
    place_ports after the replicas before it)."""
    parser.add_argument("--http-port", type=int, default=8080, help="REST + gRPC via Envoy")
    parser.add_argument("--envoy-admin-port", type=int, default=9901)
    parser.add_argument(
        "--chat-port",
        type=int,
        default=None,
        help=f"the first chat replica's port (default {DEFAULT_CHAT_PORT}; metrics: +1000)",
    )
    parser.add_argument(
        "--inference-port",
        type=int,
        default=None,
        help="the first inference replica's port (default: the port after the chat replicas')",
    )
    parser.add_argument(
        "--embedding-port",
        type=int,
        default=None,
        help="default: the port after the inference replicas'",
    )
    parser.add_argument(
        "--internal-port", type=int, default=50050, help="Envoy's internal gRPC listener"
    )


def add_process_options(parser: argparse.ArgumentParser) -> None:
    """How many processes of each service, and which inference engine they run."""
    parser.add_argument(
        "--chat-replicas",
        type=int,
        default=1,
        help="chat processes, on --chat-port and the ports after it, behind Envoy's public "
        "listener; more than one share a Milvus Lite server for the answer cache",
    )
    parser.add_argument(
        "--inference-replicas",
        type=int,
        default=1,
        help="inference processes, on --inference-port and the ports after it",
    )
    parser.add_argument(
        "--engine",
        choices=["llama_cpp", "vllm"],
        default="llama_cpp",
        help="the inference engine: llama.cpp, or vLLM's CPU build (in .venv-vllm)",
    )
    parser.add_argument(
        "--inference-instances",
        type=int,
        default=1,
        help="llama_cpp: model copies per inference process (vLLM batches in one)",
    )


def add_store_options(parser: argparse.ArgumentParser) -> None:
    """The chat history store (the Cassandra options apply to --store cassandra only)."""
    parser.add_argument("--store", choices=["sqlite", "cassandra"], default="sqlite")
    parser.add_argument("--cassandra-host", default="127.0.0.1")
    parser.add_argument("--cassandra-port", type=int, default=9042)


def add_web_options(parser: argparse.ArgumentParser) -> None:
    """What the browser reaches: the web UI, the key set Envoy verifies tokens with, TLS."""
    parser.add_argument(
        "--web-port", type=int, default=8090, help="the web UI's static server (behind Envoy)"
    )
    parser.add_argument("--no-web", dest="web", action="store_false", help="no web UI (API only)")
    parser.add_argument(
        "--jwks-port", type=int, default=8089, help="the key set, served to Envoy on loopback"
    )
    parser.add_argument(
        "--tls", action="store_true", help="HTTPS on the gateway (a self-signed certificate)"
    )


def add_queue_options(parser: argparse.ArgumentParser) -> None:
    """What the chat replicas share besides the store: NATS for background jobs, and the answer
    cache's Milvus Lite server."""
    parser.add_argument("--nats-port", type=int, default=4222, help="NATS (monitoring: +1000)")
    parser.add_argument(
        "--no-queue",
        dest="queue",
        action="store_false",
        help="no NATS: the chat service runs background jobs in process",
    )
    parser.add_argument(
        "--cache-port",
        type=int,
        default=19530,
        help="the Milvus Lite server of the answer cache (only with --chat-replicas > 1)",
    )


def chat_ports(args: argparse.Namespace) -> list[int]:
    return [args.chat_port + i for i in range(args.chat_replicas)]


def openai_port(chat_port: int) -> int:
    """A chat replica's OpenAI-compatible API: its gRPC port + 2000 (metrics: + 1000)."""
    return chat_port + 2000


def inference_ports(args: argparse.Namespace) -> list[int]:
    return [args.inference_port + i for i in range(args.inference_replicas)]


def shared_cache(args: argparse.Namespace) -> bool:
    """Several chat replicas share a Milvus Lite server; one runs Milvus Lite in process."""
    return bool(args.chat_replicas > 1)


def place_ports(args: argparse.Namespace) -> None:
    """Ports left unset follow the previous service's replicas: chat, inference, embedding
    (50051, 50052, 50053 with one replica each)."""
    if args.chat_port is None:
        args.chat_port = DEFAULT_CHAT_PORT
    if args.inference_port is None:
        args.inference_port = args.chat_port + args.chat_replicas
    if args.embedding_port is None:
        args.embedding_port = args.inference_port + args.inference_replicas


def check_ports(args: argparse.Namespace) -> None:
    """Every service port (and its metrics port, +1000) must be distinct."""
    grpc_ports = [*chat_ports(args), *inference_ports(args), args.embedding_port]
    ports = [
        args.http_port, args.envoy_admin_port, args.internal_port, args.web_port, args.jwks_port,
        args.nats_port, args.nats_port + 1000,
        *grpc_ports, *(port + 1000 for port in grpc_ports),
        *(openai_port(port) for port in chat_ports(args)),
        *([args.cache_port] if shared_cache(args) else []),
    ]  # fmt: skip
    clashes = sorted({port for port in ports if ports.count(port) > 1})
    if clashes:
        raise SystemExit(
            f"port(s) {clashes} used twice: chat replicas take --chat-port and the "
            f"{args.chat_replicas - 1} port(s) after it, inference replicas --inference-port "
            f"and the {args.inference_replicas - 1} after it (metrics ports: +1000); "
            "move --chat-port, --inference-port, --embedding-port or the port named"
        )
