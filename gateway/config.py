"""Settings of the Envoy gateway. The Envoy YAML is generated from them (envoy_config.py), so
this class is the single place where the gateway's knobs live."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from server_kit import headers

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KEYS_DIR = PROJECT_ROOT / ".run" / "keys"
DEFAULT_ISSUER = "chatstack-local"
DEFAULT_AUDIENCE = "chatstack"


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    @property
    def is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True


def parse_endpoint(value: str) -> Endpoint:
    """`host:port` or `[v6]:port`."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port, got {value!r}")
    return Endpoint(host.strip("[]"), int(port))


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


JWKS_PATH = "/jwks.json"  # what gateway.jwks_server serves


class GatewaySettings(BaseSettings):
    """Environment: CHATSTACK_GATEWAY_<FIELD>; lists also accept comma-separated values."""

    model_config = SettingsConfigDict(
        env_prefix="CHATSTACK_GATEWAY_", extra="ignore", cli_kebab_case=True
    )

    listen_host: str = Field(default="127.0.0.1", description="address of the public listener")
    listen_port: int = Field(default=8080, ge=1, le=65535, description="REST + gRPC port")
    # TLS on the public listener: both files, PEM (a LoadBalancer must not carry tokens in the
    # clear). Read when Envoy starts.
    tls_cert_file: Path | None = Field(default=None, description="certificate chain (PEM)")
    tls_key_file: Path | None = Field(default=None, description="its private key (PEM)")
    # The admin interface (/stats/prometheus, /ready, /quitquitquit) is always on loopback.
    admin_port: int = Field(default=9901, ge=1, le=65535, description="admin port on 127.0.0.1")

    chat_upstreams: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1:50051"],
        min_length=1,
        description="chat service replicas, host:port each",
    )
    # The internal listener: native gRPC from the chat service to the inference and embedding
    # pools (no JWT: reachable only from inside the deployment, see envoy_config.py).
    internal_host: str = Field(
        default="127.0.0.1",
        description="address of the internal listener (0.0.0.0 in a pod, behind a NetworkPolicy)",
    )
    internal_port: int = Field(
        default=50050,
        ge=1,
        le=65535,
        description="internal gRPC port (chat -> inference/embedding)",
    )
    inference_upstreams: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1:50052"],
        description="inference service replicas, host:port each (empty: UNAVAILABLE)",
    )
    embedding_upstreams: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1:50053"],
        description="embedding service replicas, host:port each (empty: UNAVAILABLE)",
    )
    # The web UI (web_static): every path that is not an API path goes to these, without JWT
    # (the page signs in, then sends the token on API calls). Empty: no UI route at all.
    web_upstreams: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="web UI static servers, host:port each (empty: no UI route)",
    )
    # The chat replicas' OpenAI-compatible HTTP ports (chat_service/openai_api): /v1/ goes
    # there. Empty: no /v1/ route.
    openai_upstreams: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="the chat replicas' OpenAI API ports, host:port each (empty: no /v1/)",
    )
    # API keys (`Bearer sk-cs-...`) are checked by the chat service through Envoy's external
    # authorization filter, wherever a JWT is accepted (docs/security.md).
    api_keys: bool = Field(default=True, description="accept personal API keys as well as JWTs")
    api_key_check_timeout_s: float = Field(default=1.0, gt=0)
    inference_service: str = "chatstack.inference.v1.InferenceService"
    embedding_service: str = "chatstack.embedding.v1.EmbeddingService"
    generate_idle_timeout_s: float = Field(
        default=180.0,
        gt=0,
        description="Generate stream: longest silence (above chat's first-token deadline)",
    )
    descriptor_path: Path = Field(
        default=PROJECT_ROOT / "gen" / "descriptor.pb",
        description="descriptor set (with imports) for the JSON transcoder",
    )
    chat_service: str = "chatstack.chat.v1.ChatService"

    # JWT. Local default: a JWKS file written by `python -m gateway.keys init`.
    # Production: set jwks_uri (https) plus the IdP's issuer and audiences.
    keys_dir: Path = Field(
        default=DEFAULT_KEYS_DIR, description="signing key + JWKS of the local issuer"
    )
    jwks_uri: str | None = Field(
        default=None, description="remote JWKS URL; replaces the local JWKS"
    )
    jwks_cache_s: float = Field(default=300.0, gt=0)
    jwks_file_server: str | None = Field(
        default=None,
        description="host:port of the loopback server (python -m gateway.jwks_server) that "
        "serves the local JWKS file: Envoy re-fetches it every jwks_file_refresh_s, so a "
        "rotated key set needs no restart. Unset: Envoy reads the file once, at start",
    )
    jwks_file_refresh_s: float = Field(default=10.0, gt=0)
    jwks_ca_file: Path = Field(
        default=Path("/etc/ssl/certs/ca-certificates.crt"),
        description="CAs trusted for an https JWKS",
    )
    jwt_max_lifetime_s: float = Field(
        default=86_400.0,
        gt=0,
        description="the longest token lifetime accepted (exp - iat); longer-lived tokens: 401",
    )
    jwt_issuer: str = DEFAULT_ISSUER
    jwt_audiences: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [DEFAULT_AUDIENCE]
    )
    user_id_header: str = Field(
        default=headers.USER_ID,
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="header (gRPC metadata) that carries the authenticated `sub` upstream",
    )

    # Timeouts and limits.
    route_timeout_s: float = Field(default=30.0, gt=0, description="unary routes")
    completion_idle_timeout_s: float = Field(
        default=120.0, gt=0, description="completion stream: longest silence between two events"
    )
    max_stream_duration_s: float = Field(
        default=900.0, gt=0, description="completion stream: hard cap"
    )
    stream_idle_timeout_s: float = Field(
        default=300.0, gt=0, description="any stream, connection-level"
    )
    request_headers_timeout_s: float = Field(default=10.0, gt=0)
    connect_timeout_s: float = Field(default=2.0, gt=0)
    max_request_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="bigger bodies get 413"
    )
    # An import file (POST /chats:import) and an export (GET /chats:export) are one message
    # each: up to the chat service's gRPC message limit (max_message_bytes, 16 MiB).
    max_transfer_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024, description="largest chat import or export"
    )
    num_retries: int = Field(default=2, ge=0, description="idempotent methods only")
    max_upstream_requests: int = Field(default=1024, ge=1, description="circuit breaker")
    max_downstream_connections: int = Field(default=10_000, ge=1)

    health_check_interval_s: float = Field(default=5.0, gt=0)
    health_check_timeout_s: float = Field(default=1.0, gt=0)
    health_check_service: str = Field(
        default="", description="grpc.health.v1 service name ('' = server)"
    )

    # Chat-affine routing: Generate/CountTokens calls carry the chat id (x-chat-id metadata),
    # and the inference cluster hashes on it, so every turn of a chat reaches the replica that
    # holds its prompt prefix in the KV cache. "none": plain least-request.
    inference_affinity: Literal["chat", "none"] = Field(
        default="chat",
        description="'chat': consistent hash (Maglev) on the chat id; 'none': least-request",
    )
    inference_affinity_balance_factor: int = Field(
        default=150,
        description="consistent hashing with bounded loads: a replica takes at most this "
        "percentage of the mean in-flight load before a chat spills to the next (>= 100; "
        "0: off, pure hash)",
    )
    # Per-user rate limit on the public listener, keyed on the user id Envoy itself set from
    # the verified JWT (never a client-supplied header). A token bucket per user and Envoy:
    # a cheap first line against floods (a refused request costs no upstream call). The limits
    # that hold across replicas (turns per minute, streams, queued turns, tokens per day) are
    # the chat service's (chat_service/admission.py).
    user_rate_limit_per_minute: int = Field(
        default=300,
        ge=0,
        description="API requests per user and minute, per Envoy (0: off). Generous for a "
        "person in the web UI; a refused request gets 429 with retry-after",
    )
    user_rate_limit_burst: int = Field(
        default=60,
        ge=0,
        description="bucket size: requests a user may send at once (0: per_minute)",
    )
    user_rate_limit_max_users: int = Field(
        default=10_000, ge=1, description="users tracked at once (least recently seen dropped)"
    )

    access_log_path: str = Field(default="/dev/stdout", description="'/dev/stdout' or a file path")
    access_log_format: Literal["json", "text"] = "json"

    otlp_endpoint: str = Field(
        default="",
        description="OpenTelemetry collector (OTLP/gRPC) host:port: Envoy then starts or continues "
        "a W3C trace per request and passes traceparent to the chat service. Empty: off",
    )
    trace_sample_ratio: float = Field(
        default=1.0, ge=0, le=1, description="share of requests traced (random sampling)"
    )

    @field_validator(
        "chat_upstreams",
        "inference_upstreams",
        "embedding_upstreams",
        "web_upstreams",
        "openai_upstreams",
        "jwt_audiences",
        mode="before",
    )
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator(
        "chat_upstreams",
        "inference_upstreams",
        "embedding_upstreams",
        "web_upstreams",
        "openai_upstreams",
    )
    @classmethod
    def _check_endpoints(cls, value: list[str]) -> list[str]:
        for item in value:
            parse_endpoint(item)
        return value

    @field_validator("inference_affinity_balance_factor")
    @classmethod
    def _check_balance_factor(cls, value: int) -> int:
        if value != 0 and value < 100:
            raise ValueError(f"inference_affinity_balance_factor: 0 or >= 100, got {value}")
        return value

    @field_validator("otlp_endpoint")
    @classmethod
    def _check_otlp_endpoint(cls, value: str) -> str:
        if value:
            parse_endpoint(value)
        return value

    @field_validator("jwks_uri")
    @classmethod
    def _check_jwks_uri(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"jwks_uri must be an http(s) URL, got {value!r}")
        return value

    @field_validator("jwks_file_server")
    @classmethod
    def _check_jwks_file_server(cls, value: str | None) -> str | None:
        if not value:
            return None
        # Whoever answers this URL decides which tokens are accepted: never over a network.
        if not loopback(parse_endpoint(value).host):
            raise ValueError(f"jwks_file_server must be a loopback address, got {value!r}")
        return value

    @model_validator(mode="after")
    def _check_remote_issuer(self) -> GatewaySettings:
        # A remote IdP signs tokens for many clients: without an issuer and an audience check
        # any token it ever issued would be accepted here.
        if self.jwks_uri and (self.jwt_issuer == DEFAULT_ISSUER or not self.jwt_audiences):
            raise ValueError("a remote JWKS needs the IdP's jwt_issuer and jwt_audiences")
        return self

    @model_validator(mode="after")
    def _check_tls(self) -> GatewaySettings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("TLS needs both tls_cert_file and tls_key_file")
        return self

    @model_validator(mode="after")
    def _check_ports(self) -> GatewaySettings:
        ports = (self.listen_port, self.admin_port, self.internal_port)
        if len(set(ports)) != len(ports):
            raise ValueError(f"listen, admin and internal ports must differ, got {ports}")
        return self

    @property
    def upstream_endpoints(self) -> list[Endpoint]:
        return [parse_endpoint(item) for item in self.chat_upstreams]

    @property
    def inference_endpoints(self) -> list[Endpoint]:
        return [parse_endpoint(item) for item in self.inference_upstreams]

    @property
    def embedding_endpoints(self) -> list[Endpoint]:
        return [parse_endpoint(item) for item in self.embedding_upstreams]

    @property
    def openai_endpoints(self) -> list[Endpoint]:
        return [parse_endpoint(item) for item in self.openai_upstreams]

    @property
    def web_endpoints(self) -> list[Endpoint]:
        return [parse_endpoint(item) for item in self.web_upstreams]

    @property
    def otlp_collector(self) -> Endpoint | None:
        return parse_endpoint(self.otlp_endpoint) if self.otlp_endpoint else None

    @property
    def jwks_fetch(self) -> tuple[str, float] | None:
        """Where Envoy fetches the JWKS and how often: the IdP's URL, the local file's loopback
        server, or None (the file, read once)."""
        if self.jwks_uri:
            return self.jwks_uri, self.jwks_cache_s
        if self.jwks_file_server:
            return f"http://{self.jwks_file_server}{JWKS_PATH}", self.jwks_file_refresh_s
        return None

    @property
    def jwks_path(self) -> Path:
        """The local JWKS file (used when jwks_uri is unset)."""
        return self.keys_dir / "jwks.json"
