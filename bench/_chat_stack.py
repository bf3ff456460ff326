"""A chat service (SQLite, answer cache off) behind its own Envoy, reaching the given inference
replicas through Envoy's internal listener: the stack the routing benchmarks compare."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gateway.config import GatewaySettings
from gateway.jwt_keys import init_keys, mint_token
from local_stack.launch.envoy import start_envoy
from server_kit.processes import ManagedProcess, free_port, service_process, start_service


def cache_off_service(
    log_dir: Path, name: str, module: str, *args: str, env: Mapping[str, str] | None = None
) -> tuple[ManagedProcess, str]:
    """A service process with the chat service's answer cache off, so every turn reaches the
    model and nothing is written outside the temp dir."""
    process, address, _ = service_process(
        log_dir, name, module, *args, env={"CHAT_CACHE_ENABLED": "false", **(env or {})}
    )
    return process, address


@dataclass(frozen=True)
class ChatStack:
    address: str  # Envoy's public listener (native gRPC, and REST on the same port)
    settings: GatewaySettings
    pids: tuple[int, ...] = ()  # the chat service's and Envoy's (each leads its process group)

    def token(self, user: str) -> str:
        return mint_token(self.settings.keys_dir, user)


@asynccontextmanager
async def chat_behind_envoy(
    work: Path,
    name: str,
    inference: list[str],
    affinity: Literal["chat", "none"],
    chat_env: Mapping[str, str] | None = None,
    gateway: Mapping[str, object] | None = None,
    source: Path | None = None,
) -> AsyncIterator[ChatStack]:
    """`affinity`: GatewaySettings.inference_affinity ("none": least-request); `chat_env`: the
    chat service's extra settings (CHAT_...); `gateway`: more GatewaySettings fields; `source`:
    another checkout whose chat service runs (a baseline measured side by side). Envoy's
    access log goes to <work>/envoy-<name>.log."""
    internal_port = free_port()
    internal = f"127.0.0.1:{internal_port}"
    chat, chat_address, _ = service_process(
        work,
        f"chat-{name}",
        "chat_service",
        "--store", "sqlite",
        "--sqlite-path", str(work / f"chat-{name}.db"),
        "--inference-address", internal,
        "--embedding-address", internal,
        "--cache-enabled", "false",
        env=chat_env,
        source=source,
    )  # fmt: skip
    envoy = None
    try:
        await start_service(chat)
        settings = GatewaySettings(
            listen_port=free_port(),
            admin_port=free_port(),
            internal_port=internal_port,
            chat_upstreams=[chat_address],
            inference_upstreams=inference,
            embedding_upstreams=[],
            keys_dir=work / f"keys-{name}",
            health_check_interval_s=1.0,
            health_check_timeout_s=3.0,
            inference_affinity=affinity,
            **(gateway or {}),  # type: ignore[arg-type]
        )
        init_keys(settings.keys_dir)
        envoy = await asyncio.to_thread(start_envoy, settings, work, f"envoy-{name}")
        pids = tuple(p.proc.pid for p in (chat, envoy) if p.proc is not None)
        yield ChatStack(f"127.0.0.1:{settings.listen_port}", settings, pids)
    finally:
        for process in (envoy, chat):
            if process is not None:
                process.stop()
