"""The UI's route through Envoy: the generated config (web cluster, JWT only on API routes,
nothing changed without `web_upstreams`), and the real Envoy in front of the static server and
the real chat service: the page loads without a token, the API still needs one."""

from __future__ import annotations

import http.client
import json
import subprocess
from pathlib import Path
from typing import Any

import grpc
import pytest
from chatstack.chat.v1 import chat_pb2 as pb
from chatstack.chat.v1 import chat_pb2_grpc as pb_grpc

from gateway.config import GatewaySettings
from gateway.envoy_api_keys import api_key_jwt_rule
from gateway.envoy_base import BUFFER_FILTER, TRANSCODER_FILTER, WEB_CLUSTER
from gateway.envoy_config import build_config, write_config
from gateway.jwt_keys import init_keys
from local_stack.launch.envoy import envoy_binary
from tests.fixtures.web import WebStack

# --- the generated config -------------------------------------------------------------------


def settings(tmp_path: Path, **overrides: Any) -> GatewaySettings:
    init_keys(tmp_path / "keys")
    return GatewaySettings(keys_dir=tmp_path / "keys", **overrides)


def public_hcm(config: dict[str, Any]) -> dict[str, Any]:
    listener = next(
        item for item in config["static_resources"]["listeners"] if item["name"] == "public"
    )
    hcm: dict[str, Any] = listener["filter_chains"][0]["filters"][0]["typed_config"]
    return hcm


def jwt_rules(hcm: dict[str, Any]) -> list[dict[str, Any]]:
    jwt_filter = next(f for f in hcm["http_filters"] if f["name"].endswith("jwt_authn"))
    rules: list[dict[str, Any]] = jwt_filter["typed_config"]["rules"]
    return rules


def routes(hcm: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = hcm["route_config"]["virtual_hosts"][0]["routes"]
    return found


def test_without_web_upstreams_nothing_changes(tmp_path: Path) -> None:
    config = build_config(settings(tmp_path))
    hcm = public_hcm(config)
    everything = {"match": {"prefix": "/"}, "requires": {"provider_name": "chatstack"}}
    assert jwt_rules(hcm) == [api_key_jwt_rule(), everything]  # a key, else a token
    forwarded = [route for route in routes(hcm) if "route" in route]
    assert all(route["route"]["cluster"] == "chat" for route in forwarded)
    # Besides: unrouted gRPC methods answered by Envoy itself (UNIMPLEMENTED).
    assert [r["name"] for r in routes(hcm) if "route" not in r] == ["grpc-unknown"]
    assert WEB_CLUSTER not in {c["name"] for c in config["static_resources"]["clusters"]}


def test_web_upstreams_add_a_tokenless_ui_route_last(tmp_path: Path) -> None:
    config = build_config(settings(tmp_path, web_upstreams="127.0.0.1:8090,web.local:8090"))
    hcm = public_hcm(config)
    key_rule, *rules = jwt_rules(hcm)
    assert key_rule == api_key_jwt_rule()  # with an API key, checked by ext_authz instead
    matches = [rule["match"] for rule in rules]
    assert all(rule["requires"] == {"provider_name": "chatstack"} for rule in rules)
    assert {"path": "/chat"} in matches and {"path": "/chats"} in matches
    assert {"prefix": "/chat/"} in matches
    assert {"prefix": "/chatstack.chat.v1.ChatService/"} in matches
    grpc_rule = matches[0]
    assert grpc_rule["prefix"] == "/"
    assert grpc_rule["headers"][0]["string_match"] == {"prefix": "application/grpc"}
    assert {"prefix": "/"} not in matches  # the UI's paths need no token

    table = routes(hcm)
    web = table[-1]
    assert web["match"] == {"prefix": "/"} and web["route"]["cluster"] == WEB_CLUSTER
    per_filter = web["typed_per_filter_config"]
    assert per_filter[TRANSCODER_FILTER]["disabled"] is True
    assert per_filter[BUFFER_FILTER]["disabled"] is True
    # REST paths keep the transcoder: they match chat routes ahead of the UI's.
    names = [route["name"] for route in table]
    # Unknown gRPC methods are answered (UNIMPLEMENTED) before anything reaches the UI.
    assert names.index("grpc-unknown") < names.index("web") == len(table) - 1
    assert all(table[names.index(f"rest-{i}")]["route"]["cluster"] == "chat" for i in range(3))

    cluster = next(c for c in config["static_resources"]["clusters"] if c["name"] == WEB_CLUSTER)
    assert cluster["type"] == "STRICT_DNS"  # a hostname among the endpoints
    assert cluster["health_checks"][0]["http_health_check"] == {"path": "/ui-config.json"}
    assert len(cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]) == 2


def test_web_upstreams_are_validated(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        settings(tmp_path, web_upstreams="no-port")


def test_envoy_validates_the_config_with_a_web_route(tmp_path: Path) -> None:
    config = write_config(
        settings(tmp_path, web_upstreams=["127.0.0.1:8090"]), tmp_path / "envoy.yaml"
    )
    result = subprocess.run(
        [envoy_binary(), "--mode", "validate", "-c", str(config), "-l", "error"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- through the real Envoy -----------------------------------------------------------------


def call(
    stack: WebStack,
    method: str,
    path: str,
    body: object = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    sent = {"content-type": "application/json", **(headers or {})}
    if token:
        sent["authorization"] = f"Bearer {token}"
    payload = None if body is None else json.dumps(body)
    conn = http.client.HTTPConnection("127.0.0.1", stack.settings.listen_port, timeout=30)
    try:
        conn.request(method, path, body=payload, headers=sent)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_the_page_and_its_assets_load_without_a_token(web_stack: WebStack) -> None:
    status, headers, body = call(web_stack, "GET", "/")
    assert status == 200 and b'<div id="app"' in body
    assert "script-src 'self'" in headers["content-security-policy"]
    asset = body.split(b'src="', 1)[1].split(b'"', 1)[0].decode()
    assert asset.startswith("/assets/")
    status, headers, _ = call(web_stack, "GET", asset)
    assert status == 200 and "immutable" in headers["cache-control"]
    # App routes fall back to the page; a stale asset is a 404.
    assert call(web_stack, "GET", "/c/some-chat-id")[0] == 200
    assert call(web_stack, "GET", "/assets/index-gone.js")[0] == 404


def test_the_api_still_needs_a_token(web_stack: WebStack) -> None:
    for method, path in (("GET", "/chats"), ("POST", "/chat"), ("GET", "/chat/x"),
                         ("DELETE", "/chat/x"), ("POST", "/chat/x/completion")):  # fmt: skip
        status, _, body = call(web_stack, method, path, {} if method == "POST" else None)
        assert status == 401, (method, path, body)
        assert json.loads(body) == {"code": 16, "message": "Jwt is missing", "details": []}
    # A client cannot claim an identity with the header the chat service trusts.
    status, _, _ = call(web_stack, "GET", "/chats", headers={"x-chatstack-user": "mallory"})
    assert status == 401


def test_the_api_still_transcodes_and_rejects_unknown_rest_methods(web_stack: WebStack) -> None:
    token = web_stack.token("web-gw-user")
    status, _, body = call(web_stack, "POST", "/chat", {"title": "from the web test"}, token)
    assert status == 200, body
    chat_id = json.loads(body)["chat"]["chat_id"]
    status, _, body = call(web_stack, "GET", "/chats?page_size=5", token=token)
    assert status == 200 and chat_id in body.decode()
    status, _, body = call(web_stack, "GET", "/chats?bogus=1", token=token)
    assert status == 400, body  # the transcoder's query validation still applies
    status, _, body = call(web_stack, "GET", f"/chat/{chat_id}/nothing", token=token)
    assert status == 404 and json.loads(body)["code"] == 5
    assert call(web_stack, "DELETE", f"/chat/{chat_id}", token=token)[0] == 200


def test_dev_sign_in_through_envoy_gives_a_working_token(web_stack: WebStack) -> None:
    status, _, body = call(web_stack, "GET", "/ui-config.json")
    assert (status, json.loads(body)) == (200, {"dev_tokens": True})
    status, _, body = call(web_stack, "POST", "/dev/token", {"user": "web-signin"})
    assert status == 200, body
    token = json.loads(body)["token"]
    assert call(web_stack, "GET", "/chats", token=token)[0] == 200
    status, _, body = call(web_stack, "POST", "/dev/token", {"user": "<img src=x>"})
    assert status == 400


def test_native_grpc_is_unchanged(web_stack: WebStack) -> None:
    token = web_stack.token("web-grpc-user")
    auth = (("authorization", f"Bearer {token}"),)
    with grpc.insecure_channel(web_stack.grpc_address) as channel:
        stub = pb_grpc.ChatServiceStub(channel)
        assert stub.ListChats(pb.ListChatsRequest(), metadata=auth, timeout=30) is not None
        with pytest.raises(grpc.RpcError) as err:
            stub.ListChats(pb.ListChatsRequest(), timeout=30)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        # An unknown gRPC method: still UNIMPLEMENTED (never the UI's HTML), and still
        # UNAUTHENTICATED without a token.
        unknown = channel.unary_unary("/chatstack.other.v1.Nope/Call")
        with pytest.raises(grpc.RpcError) as err:
            unknown(b"", metadata=auth, timeout=30)
        assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
        with pytest.raises(grpc.RpcError) as err:
            unknown(b"", timeout=30)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
