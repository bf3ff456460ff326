"""The UI's static server on its own (in-process, on a free port): files, the SPA fallback,
cache headers, path safety, and the development-only token endpoint."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest

from gateway.config import DEFAULT_AUDIENCE, DEFAULT_ISSUER
from gateway.jwt_keys import KeyFiles, init_keys, load_private_key
from web_static.__main__ import main as web_static_main
from web_static.server import WebConfig, make_server, serve_in_thread

INDEX = b"<!doctype html><title>app</title>"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


@dataclass
class Server:
    port: int
    keys: Path | None

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def token(self, payload: object, content_type: str = "application/json") -> Reply:
        return self.call(
            "POST", "/dev/token", json.dumps(payload).encode(), {"content-type": content_type}
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site")
    (root / "index.html").write_bytes(INDEX)
    (root / "assets").mkdir()
    (root / "assets" / "index-AbC123.js").write_text("console.log(1)")
    (root / "assets" / "index-AbC123.css").write_text("body{}")
    (root / "favicon.svg").write_text("<svg/>")
    (root / ".build-stamp").write_text("")
    (tmp_path_factory.getbasetemp() / "secret.txt").write_text("secret")
    return root


def _serve(config: WebConfig) -> Iterator[int]:
    server = make_server("127.0.0.1", 0, config)
    serve_in_thread(server)
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def dev(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    keys = tmp_path_factory.mktemp("keys")
    init_keys(keys)
    for port in _serve(WebConfig(root=site, keys_dir=keys, token_ttl_s=600)):
        yield Server(port, keys)


@pytest.fixture(scope="module")
def prod(site: Path) -> Iterator[Server]:
    for port in _serve(WebConfig(root=site)):
        yield Server(port, None)


def test_index_and_app_routes_get_the_page_revalidated(dev: Server) -> None:
    for path in ("/", "/index.html", "/c/0193a2b4-chat", "/c/x/", "/settings?tab=1"):
        reply = dev.call("GET", path)
        assert (reply.status, reply.body) == (200, INDEX), path
        assert reply.headers["content-type"] == "text/html; charset=utf-8"
        assert reply.headers["cache-control"] == "no-cache"


def test_hashed_assets_are_immutable(dev: Server) -> None:
    reply = dev.call("GET", "/assets/index-AbC123.js")
    assert reply.status == 200 and reply.body == b"console.log(1)"
    assert reply.headers["content-type"] == "text/javascript; charset=utf-8"
    assert reply.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert (
        dev.call("GET", "/assets/index-AbC123.css").headers["content-type"].startswith("text/css")
    )
    # Not hashed: revalidated.
    assert dev.call("GET", "/favicon.svg").headers["cache-control"] == "no-cache"


def test_head_has_headers_and_no_body(dev: Server) -> None:
    reply = dev.call("HEAD", "/assets/index-AbC123.js")
    assert reply.status == 200 and reply.body == b""
    assert reply.headers["content-length"] == str(len("console.log(1)"))


def test_missing_files_are_404_not_the_app(dev: Server) -> None:
    for path in ("/assets/index-Old999.js", "/missing.png", "/assets/newdir"):
        reply = dev.call("GET", path)
        assert reply.status == 404, path
        assert reply.json() == {"code": 5, "message": "not found", "details": []}


def test_no_path_escapes_the_root_and_no_dotfiles(dev: Server) -> None:
    for path in (
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/.build-stamp",
        "/%00",
    ):
        reply = dev.call("GET", path)
        assert reply.status == 404, path
        assert b"secret" not in reply.body


def test_security_headers_on_every_answer(dev: Server) -> None:
    for path in ("/", "/assets/index-AbC123.js", "/nope.txt", "/ui-config.json"):
        headers = dev.call("GET", path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "unsafe-inline" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


def test_ui_config_says_whether_dev_tokens_are_on(dev: Server, prod: Server) -> None:
    assert dev.call("GET", "/ui-config.json").json() == {"dev_tokens": True}
    reply = prod.call("GET", "/ui-config.json")
    assert reply.json() == {"dev_tokens": False}
    assert reply.headers["cache-control"] == "no-store"


def test_dev_token_mints_a_verifiable_token(dev: Server) -> None:
    reply = dev.token({"user": "alice.smith@example"})
    assert reply.status == 200, reply.body
    assert reply.headers["cache-control"] == "no-store"
    body = reply.json()
    assert isinstance(body, dict)
    assert body["user"] == "alice.smith@example" and body["expires_in"] == 600
    assert dev.keys is not None
    public = load_private_key(KeyFiles.in_dir(dev.keys).private_key).public_key()
    claims = jwt.decode(
        body["token"], public, algorithms=["RS256"], audience=DEFAULT_AUDIENCE,
        issuer=DEFAULT_ISSUER,
    )  # fmt: skip
    assert claims["sub"] == "alice.smith@example"
    assert claims["exp"] - claims["iat"] == 600


@pytest.mark.parametrize(
    "payload",
    [
        {"user": ""},
        {"user": " alice"},
        {"user": "-alice"},
        {"user": "a b"},
        {"user": "<script>"},
        {"user": "x" * 65},
        {"user": "ünï"},
        {"user": 5},
        {"name": "alice"},
        ["alice"],
    ],
)
def test_dev_token_rejects_bad_user_names(dev: Server, payload: object) -> None:
    reply = dev.token(payload)
    assert reply.status == 400, payload
    body = reply.json()
    assert isinstance(body, dict) and body["code"] == 3 and "user" in body["message"]


def test_dev_token_takes_json_only(dev: Server) -> None:
    # A cross-site form cannot send application/json without a CORS preflight.
    for ctype in ("text/plain", "application/x-www-form-urlencoded"):
        assert dev.token({"user": "alice"}, content_type=ctype).status == 415
    reply = dev.call("POST", "/dev/token", b"{not json", {"content-type": "application/json"})
    assert reply.status == 400
    big = json.dumps({"user": "a", "pad": "x" * 5000}).encode()
    assert dev.call("POST", "/dev/token", big, {"content-type": "application/json"}).status == 400
    assert dev.call("GET", "/dev/token").status == 405


def test_without_dev_tokens_the_endpoint_does_not_exist(prod: Server) -> None:
    assert prod.token({"user": "alice"}).status == 404
    assert prod.call("GET", "/dev/token").status == 404


def test_other_methods_are_refused(dev: Server) -> None:
    for method in ("PUT", "DELETE", "PATCH"):
        assert dev.call(method, "/index.html", b"x").status == 405
    assert dev.call("POST", "/index.html", b"x").status == 404


def test_cli_refuses_tokens_without_keys_and_a_missing_build(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        web_static_main(["--root", str(tmp_path), "--dev-tokens"])
    with pytest.raises(SystemExit):
        web_static_main(["--root", str(tmp_path)])  # no index.html
