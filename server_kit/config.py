"""Settings shared by every service. Each service subclasses it with its own env prefix;
main() parses flags and environment once and passes the object down."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServerSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", cli_kebab_case=True, cli_prog_name="service")

    host: str = Field("127.0.0.1", description="address the gRPC server binds")
    port: int = Field(0, ge=0, le=65535, description="gRPC port (0: pick a free one)")
    metrics_host: str = Field("127.0.0.1", description="address of the Prometheus /metrics server")
    metrics_port: int = Field(
        0, ge=0, le=65535, description="Prometheus metrics port (0: disabled)"
    )
    event_loop: Literal["uvloop", "asyncio"] = Field(
        "uvloop",
        description="the asyncio event loop: uvloop (libuv; ~10% less CPU per chat turn, "
        "docs/architecture.md) or the standard library's",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "text"] = "json"
    shutdown_grace_s: float = Field(
        10.0, ge=0, description="on SIGTERM: how long in-flight RPCs may run before cancellation"
    )
    max_message_bytes: int = Field(16 * 1024 * 1024, ge=1024, description="gRPC message size cap")
    otlp_endpoint: str = Field(
        "",
        description="OpenTelemetry collector (OTLP/gRPC), host:port or http://host:port; traces "
        "are exported there with W3C trace context propagated over gRPC metadata. Empty: off",
    )
    trace_sample_ratio: float = Field(
        1.0,
        ge=0,
        le=1,
        description="share of new traces recorded (a caller's sampled decision is followed)",
    )


class CallerAuthSettings(BaseSettings):
    """For services that only the chat service calls (server_kit/caller_auth.py)."""

    caller_token_file: str = Field(
        "",
        description="a file holding the service token: every call but health checks must carry "
        "`authorization: Bearer <token>` (the chat service's service_token_file). Empty: any "
        "caller that reaches the port is served",
    )
