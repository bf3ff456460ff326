"""Chat-affine routing to the inference replicas and per-user rate limits at the gateway:
the generated config (validated by the real Envoy), then both behaviours end to end."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import yaml
from chatstack.chat.v1 import chat_pb2 as pb
from chatstack.chat.v1 import chat_pb2_grpc as pb_grpc

from gateway.config import GatewaySettings
from gateway.envoy_base import CHAT_ID_HEADER, RATE_LIMIT_FILTER
from gateway.envoy_config import build_config
from gateway.jwt_keys import init_keys
from local_stack.launch.metrics import metric_value
from tests.fixtures.gateway_client import (
    assert_completed,
    call,
    cluster_hosts,
    complete_sse,
    create_chat,
    user_token,
    wait_for,
)
from tests.fixtures.replicas import ReplicaStack
from tests.fixtures.services import RunningService
from tests.fixtures.stack import Gateway, envoy_validate, gateway_settings_for, start_envoy

Config = dict[str, object]


def _clusters(settings: GatewaySettings) -> dict[str, dict[str, object]]:
    return {c["name"]: c for c in build_config(settings)["static_resources"]["clusters"]}


def _internal_routes(settings: GatewaySettings) -> dict[str, dict[str, object]]:
    internal = build_config(settings)["static_resources"]["listeners"][1]
    hcm = internal["filter_chains"][0]["filters"][0]["typed_config"]
    return {r["name"]: r["route"] for r in hcm["route_config"]["virtual_hosts"][0]["routes"]}


def _public_filters(settings: GatewaySettings) -> list[dict[str, object]]:
    public = build_config(settings)["static_resources"]["listeners"][0]
    filters: list[dict[str, object]] = public["filter_chains"][0]["filters"][0]["typed_config"][
        "http_filters"
    ]
    return filters


# --- the generated config -------------------------------------------------------------------


def test_affinity_hashes_inference_on_the_chat_id(tmp_path: Path) -> None:
    settings = GatewaySettings(keys_dir=tmp_path / "keys")
    assert settings.inference_affinity == "chat"
    clusters = _clusters(settings)
    assert clusters["inference"]["lb_policy"] == "MAGLEV"
    bounded = {"consistent_hashing_lb_config": {"hash_balance_factor": 150}}
    assert clusters["inference"]["common_lb_config"] == bounded
    assert clusters["embedding"]["lb_policy"] == "LEAST_REQUEST"
    assert clusters["chat"]["lb_policy"] == "LEAST_REQUEST"
    routes = _internal_routes(settings)
    hashing = [{"header": {"header_name": CHAT_ID_HEADER}}]
    assert routes["inference-Generate"]["hash_policy"] == hashing
    assert routes["inference-unary"]["hash_policy"] == hashing
    assert "hash_policy" not in routes["embedding"]
    init_keys(settings.keys_dir)
    envoy_validate(settings, tmp_path)


def test_affinity_none_keeps_least_request(tmp_path: Path) -> None:
    settings = GatewaySettings(inference_affinity="none")
    assert _clusters(settings)["inference"]["lb_policy"] == "LEAST_REQUEST"
    assert all("hash_policy" not in route for route in _internal_routes(settings).values())
    with pytest.raises(ValueError):
        GatewaySettings(inference_affinity="round-robin")  # type: ignore[arg-type]
    pure = GatewaySettings(inference_affinity_balance_factor=0)
    assert "common_lb_config" not in _clusters(pure)["inference"]
    with pytest.raises(ValueError, match="balance_factor"):
        GatewaySettings(inference_affinity_balance_factor=50)


def test_rate_limit_is_on_by_default_and_keys_on_the_verified_user(tmp_path: Path) -> None:
    names = [f["name"] for f in _public_filters(GatewaySettings())]
    assert RATE_LIMIT_FILTER in names
    names = [f["name"] for f in _public_filters(GatewaySettings(user_rate_limit_per_minute=0))]
    assert RATE_LIMIT_FILTER not in names

    settings = GatewaySettings(
        keys_dir=tmp_path / "keys",
        user_rate_limit_per_minute=120,
        user_rate_limit_burst=20,
        web_upstreams=["127.0.0.1:9000"],
    )
    filters = _public_filters(settings)
    names = [str(f["name"]).rsplit(".", 1)[-1] for f in filters]
    # After jwt_authn and the API-key check (the user header is Envoy's own), before the buffer.
    assert names == [
        "health_check", "jwt_authn", "ext_authz", "local_ratelimit", "buffer",
        "grpc_json_transcoder", "router",
    ]  # fmt: skip
    limit: dict[str, object] = yaml.safe_load(yaml.safe_dump(filters[3]["typed_config"]))
    action = limit["rate_limits"][0]["actions"][0]["request_headers"]  # type: ignore[index]
    assert action["header_name"] == "x-chatstack-user" and action["skip_if_absent"] is True
    descriptor = limit["descriptors"][0]  # type: ignore[index]
    assert descriptor["entries"] == [{"key": "user", "value": ""}]  # wildcard: one per user
    assert descriptor["token_bucket"] == {
        "max_tokens": 20, "tokens_per_fill": 1, "fill_interval": "0.5s"
    }  # fmt: skip
    assert limit["always_consume_default_token_bucket"] is False
    assert limit["enable_x_ratelimit_headers"] == "DRAFT_VERSION_03"
    init_keys(settings.keys_dir)
    envoy_validate(settings, tmp_path)
    # A high rate: several tokens per fill (Envoy's fill interval is at least 50 ms).
    fast = GatewaySettings(user_rate_limit_per_minute=6000, user_rate_limit_burst=0)
    bucket = _public_filters(fast)[3]["typed_config"]["descriptors"][0]["token_bucket"]  # type: ignore[index]
    assert bucket == {"max_tokens": 6000, "tokens_per_fill": 5, "fill_interval": "0.05s"}


# --- end to end -----------------------------------------------------------------------------


def _served(stack: ReplicaStack, sample: str, labels: dict[str, str] | None = None) -> list[float]:
    return [metric_value(s.metrics_url, sample, labels) for s in (stack.shared, stack.own)]


def test_turns_of_one_chat_stay_on_one_replica_and_reuse_its_prefix_cache(
    replica_stack: ReplicaStack,
) -> None:
    gw = replica_stack.gateway
    shared, own = replica_stack.shared.address, replica_stack.own.address
    wait_for(
        "both replicas healthy",
        lambda: cluster_hosts(gw, "inference") == {shared: "healthy", own: "healthy"},
        30,
    )
    _, token = user_token(gw)
    completed = {"outcome": "completed"}
    questions = ("Name a colour.", "Name another one.", "And a third?")
    # One chat after the other: a llama.cpp instance caches the prefix of its last prompt only.
    for _ in range(3):
        chat_id = create_chat(gw, token)
        replicas: set[int] = set()
        for turn, question in enumerate(questions):
            before = _served(replica_stack, "inference_requests_total", completed)
            cached_before = _served(replica_stack, "inference_cached_prompt_tokens_total")
            assert_completed(complete_sse(gw, token, chat_id, question))
            after = _served(replica_stack, "inference_requests_total", completed)
            cached_after = _served(replica_stack, "inference_cached_prompt_tokens_total")
            moved = [index for index in (0, 1) if after[index] > before[index]]
            assert len(moved) == 1 and after[moved[0]] - before[moved[0]] == 1, (before, after)
            replicas.add(moved[0])
            if turn:  # a follow-up: the history's prefix came from the KV cache
                assert cached_after[moved[0]] > cached_before[moved[0]], (turn, cached_after)
        assert len(replicas) == 1, f"chat {chat_id} was served by {replicas}"


@pytest.fixture(scope="module")
def limited_gateway(
    tmp_path_factory: pytest.TempPathFactory, chat_server_sqlite: RunningService
) -> Iterator[Gateway]:
    """A second Envoy in front of the session's chat service, with a low per-user limit."""
    work = tmp_path_factory.mktemp("limited")
    settings = gateway_settings_for(
        work,
        chat_server_sqlite.address,
        user_rate_limit_per_minute=6,  # a token every 10 s
        user_rate_limit_burst=3,
        openai_upstreams=[chat_server_sqlite.openai_address],
    )
    process = start_envoy(settings, work, "envoy-limited")
    with contextlib.ExitStack() as stack:
        stack.callback(process.stop)
        yield Gateway(settings, process, chat_server_sqlite)


def test_one_user_over_the_limit_gets_429_json_while_others_pass(
    limited_gateway: Gateway,
) -> None:
    gw = limited_gateway
    assert call(gw, "GET", "/healthz").status == 200  # no user: never limited
    _, greedy = user_token(gw)
    _, other = user_token(gw)
    for _ in range(3):  # the burst
        assert call(gw, "GET", "/chats", token=greedy).status == 200
    reply = call(gw, "GET", "/chats", token=greedy)
    assert reply.status == 429, reply.body
    assert reply.json()["code"] == 8  # RESOURCE_EXHAUSTED, the gateway's JSON error shape
    assert reply.headers["retry-after"] == "10"
    assert reply.headers["x-ratelimit-limit"] == "3"
    assert reply.headers["x-ratelimit-remaining"] == "0"
    # Native gRPC clients get RESOURCE_EXHAUSTED (not Envoy's default UNAVAILABLE).
    with grpc.insecure_channel(gw.grpc_address) as channel, pytest.raises(grpc.RpcError) as err:
        pb_grpc.ChatServiceStub(channel).ListChats(
            pb.ListChatsRequest(), metadata=(("authorization", f"Bearer {greedy}"),), timeout=10
        )
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # The other user has a bucket of their own.
    assert call(gw, "GET", "/chats", token=other).status == 200
    # Anonymous requests are still rejected by jwt_authn (401), not counted as a user.
    assert call(gw, "GET", "/chats").status == 401


def test_a_users_api_keys_and_tokens_share_one_bucket(limited_gateway: Gateway) -> None:
    """The key check sets the key owner's id, which the limit keys on: a key is not a way
    around the user's limit. On /v1/ the refusal is in OpenAI's error shape."""
    gw = limited_gateway
    _, token = user_token(gw)
    created = call(gw, "POST", "/api-keys", {"name": "limited"}, token)  # 1 of the burst of 3
    assert created.status == 200, created.body
    secret = created.json()["secret"]
    assert call(gw, "GET", "/chats", token=secret).status == 200
    assert call(gw, "GET", "/chats", token=token).status == 200
    refused = call(gw, "GET", "/v1/models", token=secret)
    assert refused.status == 429, refused.body
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert refused.headers["retry-after"] == "10"
    assert call(gw, "GET", "/chats", token=token).status == 429
