"""Who may call: the JWT provider and the rules that require it, and the per-user request limit
(a token bucket per `sub`, after jwt_authn). docs/security.md."""

from __future__ import annotations

from gateway.config import GatewaySettings
from gateway.envoy_api_keys import api_key_jwt_rule
from gateway.envoy_base import (
    JWKS_CLUSTER,
    JWT_PROVIDER,
    OPENAI_PREFIX,
    RATE_LIMIT_FILTER,
    RATE_LIMIT_USER_KEY,
    REST_API_PATHS,
    Config,
    duration,
    type_url,
)
from server_kit import headers


def jwt_provider(settings: GatewaySettings) -> Config:
    provider: Config = {
        "issuer": settings.jwt_issuer,
        "audiences": list(settings.jwt_audiences),
        # Only the Authorization header: the default would also accept ?access_token=, and
        # tokens in URLs leak into logs.
        "from_headers": [{"name": "authorization", "value_prefix": "Bearer "}],
        # Forwarded: the chat service verifies the token itself (docs/security.md), so a
        # caller that reaches it without Envoy cannot act as someone.
        "forward": True,
        "require_expiration": True,
        # A stolen long-lived token stays useful until it expires: refuse any whose lifetime
        # (exp - iat, or exp - now without iat) exceeds the maximum, whoever signed it.
        "max_lifetime": duration(settings.jwt_max_lifetime_s),
        "claim_to_headers": [{"header_name": settings.user_id_header, "claim_name": "sub"}],
        # No jwt_cache_config: Envoy's cache keeps a verified token until it expires, even
        # after its key has left the JWKS (a key dropped as compromised must stop working).
        # An RS256 check costs tens of microseconds.
    }
    if settings.jwks_fetch is not None:
        uri, refresh_s = settings.jwks_fetch
        provider["remote_jwks"] = {
            "http_uri": {"uri": uri, "cluster": JWKS_CLUSTER, "timeout": "5s"},
            "cache_duration": duration(refresh_s),
            # Fetched by the main thread and shared by workers; the listener does not wait for it.
            "async_fetch": {"fast_listener": True, "failed_refetch_duration": "2s"},
            "retry_policy": {
                "num_retries": 3,
                "retry_back_off": {"base_interval": "0.5s", "max_interval": "10s"},
            },
        }
    else:  # read once: a rotated file needs a restart (jwks_file_server avoids that)
        provider["local_jwks"] = {"filename": str(settings.jwks_path.resolve())}
    return provider


def jwt_rules(settings: GatewaySettings) -> list[Config]:
    """Without a web UI every request needs a token. With one: gRPC requests (any path) and the
    API's REST and gRPC paths; other paths (the UI) match no rule, so need none."""
    requires = {"provider_name": JWT_PROVIDER}
    keys = [api_key_jwt_rule()] if settings.api_keys else []
    if not settings.web_upstreams:
        return [*keys, {"match": {"prefix": "/"}, "requires": requires}]
    grpc = {
        "prefix": "/",
        "headers": [{"name": "content-type", "string_match": {"prefix": "application/grpc"}}],
    }
    api = [*REST_API_PATHS, {"prefix": f"/{settings.chat_service}/"}]
    if settings.openai_upstreams:
        api.append({"prefix": OPENAI_PREFIX})
    return [*keys, *({"match": match, "requires": requires} for match in (grpc, *api))]


def token_bucket(per_minute: int, burst: int) -> Config:
    """Refills smoothly (a token every 60/per_minute s, at most 20 fills a second) rather than
    a minute's worth at once."""
    tokens_per_fill = max(1, -(-per_minute // 1200))
    return {
        "max_tokens": burst or per_minute,
        "tokens_per_fill": tokens_per_fill,
        "fill_interval": duration(round(60 * tokens_per_fill / per_minute, 3)),
    }


def user_rate_limit(settings: GatewaySettings) -> list[Config]:
    """Local (per Envoy process) token bucket per user: after jwt_authn, so it keys on the user
    id Envoy set from the verified token (a client's own header was removed before routing);
    before the buffer, so a limited user cannot make Envoy buffer bodies. Requests without a
    user (the UI's files, /healthz) produce no descriptor and are not limited. The descriptor's
    empty value is a wildcard: one bucket per distinct user (Envoy's dynamic descriptors, an
    LRU of `user_rate_limit_max_users`). Over the limit: 429 (RESOURCE_EXHAUSTED for gRPC),
    the JSON body of local_reply_config, x-ratelimit-* headers and retry-after."""
    per_minute = settings.user_rate_limit_per_minute
    if not per_minute:
        return []
    typed_config: Config = {
        "@type": type_url("envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"),
        "stat_prefix": "user_rate_limit",
        # The filter's own bucket is unlimited in effect; only the per-user one counts.
        "token_bucket": {
            "max_tokens": 1_000_000_000,
            "tokens_per_fill": 1_000_000_000,
            "fill_interval": "1s",
        },
        "always_consume_default_token_bucket": False,
        **rate_limit_switches(),
        **per_user_buckets(settings),
        "enable_x_ratelimit_headers": "DRAFT_VERSION_03",
        "rate_limited_as_resource_exhausted": True,
        "response_headers_to_add": [retry_after_header(per_minute)],
    }
    return [{"name": RATE_LIMIT_FILTER, "typed_config": typed_config}]


def rate_limit_switches() -> Config:
    """On and enforced for every request, under runtime keys (an operator can turn either off
    at runtime without a new config). One `percent` object: the dump writes it as an anchor."""
    percent = {"numerator": 100, "denominator": "HUNDRED"}
    return {
        "filter_enabled": {"runtime_key": "user_rate_limit.enabled", "default_value": percent},
        "filter_enforced": {"runtime_key": "user_rate_limit.enforced", "default_value": percent},
    }


def per_user_buckets(settings: GatewaySettings) -> Config:
    """The descriptor is the user id header (skipped when absent: no user, no limit); its empty
    value is a wildcard, so each distinct user gets a bucket of their own, up to
    `user_rate_limit_max_users` (an LRU)."""
    bucket = token_bucket(settings.user_rate_limit_per_minute, settings.user_rate_limit_burst)
    action = {
        "request_headers": {
            "header_name": settings.user_id_header,
            "descriptor_key": RATE_LIMIT_USER_KEY,
            "skip_if_absent": True,
        }
    }
    return {
        "rate_limits": [{"actions": [action]}],
        "descriptors": [
            {"entries": [{"key": RATE_LIMIT_USER_KEY, "value": ""}], "token_bucket": bucket}
        ],
        "max_dynamic_descriptors": settings.user_rate_limit_max_users,
    }


def retry_after_header(per_minute: int) -> Config:
    """retry-after on a refusal: the seconds until the next token, rounded up."""
    retry_after = max(1, -(-60 // per_minute))
    return {
        "header": {"key": headers.RETRY_AFTER, "value": str(retry_after)},
        "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
    }
