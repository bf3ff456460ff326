"""Helpers of render_envoy_for_helm.py that know nothing of the chart's values: finding pieces in
the generator's config (the jwt_authn filter, the public listener's chain and routes), cutting
out the TLS socket with a check that nothing else differs, and writing YAML text around them
(dumps without anchors, indented blocks under a Helm `if`, line and token swaps)."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import yaml

from gateway.envoy_base import JWT_PROVIDER

Config = dict[str, Any]

# The listener whose routes and JWT rules change with the web UI.
PUBLIC_LISTENER = "public"


def jwt_authn(config: Config) -> Config:
    """The typed_config of the jwt_authn filter (providers and rules)."""
    for listener in config["static_resources"]["listeners"]:
        for chain in listener["filter_chains"]:
            for network_filter in chain["filters"]:
                for http_filter in network_filter["typed_config"].get("http_filters", []):
                    if http_filter["name"] == "envoy.filters.http.jwt_authn":
                        typed_config: Config = http_filter["typed_config"]
                        return typed_config
    raise LookupError("no jwt_authn filter in the generated config")


def provider(config: Config) -> Config:
    found: Config = jwt_authn(config)["providers"][JWT_PROVIDER]
    return found


def public_routes(config: Config) -> list[Config]:
    """The routes of the public listener's (one) virtual host."""
    for listener in config["static_resources"]["listeners"]:
        if listener["name"] == PUBLIC_LISTENER:
            hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
            (virtual_host,) = hcm["route_config"]["virtual_hosts"]
            routes: list[Config] = virtual_host["routes"]
            return routes
    raise LookupError(f"no {PUBLIC_LISTENER} listener in the generated config")


def public_chain(config: Config) -> Config:
    for listener in config["static_resources"]["listeners"]:
        if listener["name"] == PUBLIC_LISTENER:
            chain: Config = listener["filter_chains"][0]
            return chain
    raise LookupError(f"no {PUBLIC_LISTENER} listener in the generated config")


def split_tls(with_tls: Config, without: Config) -> Config:
    """The public listener's transport_socket of `with_tls`; fails unless it is the only
    difference between the two configs."""
    check = copy.deepcopy(with_tls)
    socket: Config = public_chain(check).pop("transport_socket")
    if check != without:
        raise AssertionError("the generator's configs with and without TLS differ elsewhere")
    return {"transport_socket": socket}


def replace_key(mapping: Config, key: str, new_key: str) -> None:
    """Renames `key` to `new_key` (value None) in place, keeping the key order."""
    items = [(new_key if k == key else k, None if k == key else v) for k, v in mapping.items()]
    mapping.clear()
    mapping.update(items)


class _NoAliasDumper(yaml.SafeDumper):
    """Writes shared objects out in full: a piece inserted into the file must not define an
    anchor (`&id001`) that the rest of the file defines too."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def dump(data: object, *, aliases: bool = True) -> str:
    dumper = yaml.SafeDumper if aliases else _NoAliasDumper
    return yaml.dump(data, Dumper=dumper, sort_keys=False, default_flow_style=False, width=100)


def indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + line for line in text.rstrip("\n").split("\n"))


def if_block(condition: str, spaces: int, then: str, otherwise: str | None = None) -> str:
    """`then` (and, after an `else`, `otherwise`) indented by `spaces`, under the Helm
    `condition` line (`{{- if ... }}`), closed by `{{- end }}`."""
    lines = [condition, indent(then, spaces)]
    if otherwise is not None:
        lines += ["{{- else }}", indent(otherwise, spaces)]
    return "\n".join([*lines, "{{- end }}"])


def swap_line(text: str, token: str, block: Callable[[int], str]) -> str:
    """Replaces the one line holding `token` by block(indent of that line)."""
    pattern = re.compile(rf"^( *)(?:- )?{re.escape(token)}(?:: null)?$", re.MULTILINE)
    matches = list(pattern.finditer(text))
    if len(matches) != 1:
        raise AssertionError(f"expected one {token} line, found {len(matches)}")
    match = matches[0]
    return text[: match.start()] + block(len(match.group(1))) + text[match.end() :]


def swap(text: str, replacements: dict[str, str]) -> str:
    for token, expression in replacements.items():
        if token not in text:
            raise AssertionError(f"placeholder {token!r} missing from the rendered config")
        text = text.replace(token, expression)
    return text
