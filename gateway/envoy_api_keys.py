"""Personal API keys at the gateway (docs/security.md): a request whose bearer value is an API
key skips JWT verification and is checked instead by the chat service, through Envoy's external
authorization filter (gRPC `envoy.service.auth.v3.Authorization/Check`). The check answers with
the key owner's user id, which Envoy sets as the user header, so the per-user rate limit that
follows counts key and token requests of one user together. Requests without a key never reach
the check: the filter is wrapped in a matcher that skips it for them."""

from __future__ import annotations

from gateway.config import GatewaySettings
from gateway.envoy_base import CHAT_CLUSTER, Config, duration, type_url
from server_kit import headers

EXT_AUTHZ_FILTER = "envoy.filters.http.ext_authz"
KEY_BEARER_PREFIX = f"Bearer {headers.API_KEY_PREFIX}"


def api_key_header_match() -> Config:
    return {"name": "authorization", "string_match": {"prefix": KEY_BEARER_PREFIX}}


def api_key_jwt_rule() -> Config:
    """First of the jwt_authn rules: a request carrying an API key needs no JWT (its key is
    checked by the filter below; one that fails that check is refused there)."""
    return {"match": {"prefix": "/", "headers": [api_key_header_match()]}}


def api_key_filters(settings: GatewaySettings) -> list[Config]:
    if not settings.api_keys:
        return []
    ext_authz: Config = {
        "@type": type_url("envoy.extensions.filters.http.ext_authz.v3.ExtAuthz"),
        "grpc_service": {
            "envoy_grpc": {"cluster_name": CHAT_CLUSTER},
            "timeout": duration(settings.api_key_check_timeout_s),
        },
        "transport_api_version": "V3",
        # A check that cannot be made refuses the request (503), never lets it through.
        "failure_mode_allow": False,
        "status_on_error": {"code": "ServiceUnavailable"},
        "stat_prefix": "api_key",
    }
    return [
        {
            "name": EXT_AUTHZ_FILTER,
            "typed_config": {
                "@type": type_url("envoy.extensions.common.matching.v3.ExtensionWithMatcher"),
                "extension_config": {"name": EXT_AUTHZ_FILTER, "typed_config": ext_authz},
                "xds_matcher": {"matcher_list": {"matchers": [skip_unless_api_key()]}},
            },
        }
    ]


def skip_unless_api_key() -> Config:
    """Skips the check for every request whose Authorization is not an API key."""
    is_key = {
        "single_predicate": {
            "input": {
                "name": "authorization",
                "typed_config": {
                    "@type": type_url("envoy.type.matcher.v3.HttpRequestHeaderMatchInput"),
                    "header_name": "authorization",
                },
            },
            "value_match": {"prefix": KEY_BEARER_PREFIX},
        }
    }
    skip = type_url("envoy.extensions.filters.common.matcher.action.v3.SkipFilter")
    return {
        "predicate": {"not_matcher": is_key},
        "on_match": {"action": {"name": "skip", "typed_config": {"@type": skip}}},
    }
