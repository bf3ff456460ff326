"""The chart's optional parts in the gateway generator's output, for render_envoy_for_helm.py:
how the configs with and without the web UI, the OpenAI-compatible API and a remote JWKS source
differ, and cutting those pieces out (each split checks that they are the only differences),
leaving placeholder tokens where the main module puts them back under a Helm `if`.

Also the placeholders the pieces leave behind (shared with the main module, which swaps them
for template text) and the JWT audiences' placeholder, which the JWKS split puts in place of the
list.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, NamedTuple

from gateway.envoy_base import JWKS_CLUSTER, WEB_CLUSTER
from scripts.render_envoy_for_helm_tools import (
    Config,
    jwt_authn,
    provider,
    public_chain,
    public_routes,
    replace_key,
)

# The JWT audiences' placeholder (the main module's settings carry it; its expression is a list).
AUDIENCES = "__HELM_JWT_AUDIENCES__"
# Placeholders where the pieces were cut out (lines or keys in the dump).
JWKS_SOURCE = "__HELM_JWKS_SOURCE__"
JWKS_CLUSTER_ITEM = "__HELM_JWKS_CLUSTER__"
WEB_JWT_RULES = "__HELM_WEB_JWT_RULES__"
WEB_ROUTES = "__HELM_WEB_ROUTES__"
WEB_CLUSTER_ITEM = "__HELM_WEB_CLUSTER__"
_OPENAI_ROUTE = "__HELM_OPENAI_ROUTE__"
_OPENAI_CLUSTER_ITEM = "__HELM_OPENAI_CLUSTER__"
_OPENAI_REPLIES = "__HELM_OPENAI_LOCAL_REPLIES__"
_OPENAI_JWT_RULE = "__HELM_OPENAI_JWT_RULE__"
# The OpenAI API's placeholders, in OpenAiPieces' order.
OPENAI_TOKENS = (_OPENAI_ROUTE, _OPENAI_CLUSTER_ITEM, _OPENAI_REPLIES, _OPENAI_JWT_RULE)


class WebPieces(NamedTuple):
    """What the web UI adds: its JWT rules (and the rules without it), routes and cluster."""

    rules: Config
    plain_rules: Config
    routes: list[Config]
    cluster: Config


def split_web(with_web: Config, without: Config) -> WebPieces:
    """Cuts the web UI's pieces out of `with_web`, leaving placeholders where they go. Fails
    unless `with_web` minus those pieces is `without`."""
    check = copy.deepcopy(with_web)
    authn, plain_authn = jwt_authn(with_web), jwt_authn(without)
    web_rules = {"rules": authn["rules"]}
    plain_rules = {"rules": plain_authn["rules"]}
    replace_key(authn, "rules", WEB_JWT_RULES)
    routes, plain_routes = public_routes(with_web), public_routes(without)
    if routes[: len(plain_routes)] != plain_routes:
        raise AssertionError("the web UI changes the API's routes, not only appends its own")
    web_routes = routes[len(plain_routes) :]
    del routes[len(plain_routes) :]
    routes.append(WEB_ROUTES)  # type: ignore[arg-type]  # a placeholder line
    clusters = with_web["static_resources"]["clusters"]
    at = next(i for i, c in enumerate(clusters) if _is_cluster(c, WEB_CLUSTER))
    web_cluster = clusters[at]
    clusters[at] = WEB_CLUSTER_ITEM
    # The check: the UI's pieces removed from the full config leave the config without a UI.
    jwt_authn(check)["rules"] = plain_rules["rules"]
    check_routes = public_routes(check)
    del check_routes[len(plain_routes) :]
    check["static_resources"]["clusters"] = [
        c for c in check["static_resources"]["clusters"] if not _is_cluster(c, WEB_CLUSTER)
    ]
    if check != without or not web_routes:
        raise AssertionError("the generator's configs with and without a web UI differ elsewhere")
    return WebPieces(web_rules, plain_rules, web_routes, web_cluster)


def _is_cluster(item: object, name: str) -> bool:
    """Whether a cluster list's item is the cluster `name` (not another, nor a placeholder)."""
    return isinstance(item, dict) and item.get("name") == name


class OpenAiPieces(NamedTuple):
    """What the OpenAI API adds: its route, cluster, local-reply mappers and (with a web UI,
    where not every path needs a token) its JWT rule."""

    routes: list[Config]
    clusters: list[Config]
    mappers: list[Config]
    jwt_rules: list[Config]


def _local_reply_mappers(config: Config) -> list[Config]:
    hcm = public_chain(config)["filters"][0]["typed_config"]
    mappers: list[Config] = hcm["local_reply_config"]["mappers"]
    return mappers


def _openai_lists(config: Config) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    """The lists the OpenAI API adds to, in OpenAiPieces' order."""
    return (
        public_routes(config),
        config["static_resources"]["clusters"],
        _local_reply_mappers(config),
        jwt_authn(config)["rules"],
    )


def _cut_extra(items: list[Any], plain: list[Any], token: str) -> list[Config]:
    """Cuts the items that `plain` lacks (one run of neighbours) out of `items`, leaving `token`
    in their place (nothing when there are none); returns them."""
    extra = [i for i, item in enumerate(items) if item not in plain]
    if not extra:
        return []
    start, end = extra[0], extra[-1] + 1
    if extra != list(range(start, end)):
        raise AssertionError(f"the OpenAI API's additions before {token} are not contiguous")
    cut: list[Config] = items[start:end]
    items[start:end] = [token]
    return cut


def split_openai(with_openai: Config, without: Config) -> OpenAiPieces:
    """Cuts the OpenAI API's pieces out of `with_openai`, leaving placeholders where they go.
    Fails unless `with_openai` minus those pieces is `without`."""
    pieces = OpenAiPieces(
        *(
            _cut_extra(items, plain, token)
            for items, plain, token in zip(
                _openai_lists(with_openai), _openai_lists(without), OPENAI_TOKENS, strict=True
            )
        )
    )
    check = copy.deepcopy(with_openai)
    for items in _openai_lists(check):
        items[:] = [item for item in items if item not in OPENAI_TOKENS]
    if check != without or not (pieces.routes and pieces.clusters):
        raise AssertionError(
            "the generator's configs with and without the OpenAI API differ elsewhere"
        )
    return pieces


@dataclass(frozen=True)
class JwksPieces:
    """Where each variant fetches the keys from (a `remote_jwks` mapping) and its jwks cluster."""

    local_source: Config
    remote_source: Config
    local_cluster: Config
    remote_cluster: Config


def split_jwks(local: Config, remote: Config) -> JwksPieces:
    """Cuts the JWKS source and the jwks cluster out of both variants, leaving placeholders in
    `local`. Fails unless those are the only differences between them."""
    local_provider, remote_provider = provider(local), provider(remote)
    local_source = {"remote_jwks": local_provider.pop("remote_jwks")}
    remote_source = {"remote_jwks": remote_provider.pop("remote_jwks")}
    local_cluster = local["static_resources"]["clusters"].pop()
    remote_cluster = remote["static_resources"]["clusters"].pop()
    if {remote_cluster["name"], local_cluster["name"]} != {JWKS_CLUSTER} or local != remote:
        raise AssertionError("the generator's local and remote JWKS variants differ elsewhere")
    _mark_jwks_source(local_provider)
    local["static_resources"]["clusters"].append(JWKS_CLUSTER_ITEM)
    return JwksPieces(local_source, remote_source, local_cluster, remote_cluster)


def _mark_jwks_source(jwt_provider: Config) -> None:
    """Puts the JWKS source's placeholder at the generator's key position (after from_headers),
    and the audiences' expression in place of the list."""
    ordered: Config = {}
    for key, value in jwt_provider.items():
        ordered[key] = value
        if key == "from_headers":
            ordered[JWKS_SOURCE] = None
    if JWKS_SOURCE not in ordered:
        ordered[JWKS_SOURCE] = None
    jwt_provider.clear()
    jwt_provider.update(ordered)
    jwt_provider["audiences"] = AUDIENCES  # a list in the values: one flow expression
