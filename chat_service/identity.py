"""The caller's identity: the verified token's subject (mode "jwt", jwt_identity.py) or, in mode
"header" (tests and tools only), the metadata the gateway sets. See docs/security.md."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from server_kit.errors import Unauthenticated

if TYPE_CHECKING:
    from chat_service.config import IdentitySettings

log = logging.getLogger(__name__)

_USER_ID = re.compile(r"^[A-Za-z0-9._@:|+-]{1,128}$")


class HeaderIdentity:
    """Identity mode "header": believes the metadata from any caller (docs/security.md)."""

    def __init__(self, header: str) -> None:
        self.header = header

    async def start(self) -> None:
        return None

    async def user_of(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
        return user_id_from_metadata(metadata, self.header)


def check_user_id(user: str) -> str:
    """A user id as the store keys it: 1-128 characters of a safe set."""
    if not _USER_ID.match(user):
        raise Unauthenticated("malformed user identity", reason="BAD_IDENTITY")
    return user


def user_id_from_metadata(metadata: Iterable[tuple[str, str | bytes]] | None, header: str) -> str:
    values = [v for k, v in (metadata or ()) if k == header]
    if not values:
        raise Unauthenticated(
            f"no user identity: the request lacks the {header!r} metadata set by the gateway",
            reason="NO_IDENTITY",
        )
    value = values[-1]
    user = value.decode() if isinstance(value, bytes) else value
    if len(values) > 1:
        raise Unauthenticated("malformed user identity", reason="BAD_IDENTITY")
    return check_user_id(user)


def bearer_of(metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
    """The call's bearer token (exactly one Authorization of scheme Bearer)."""
    values = [v for k, v in (metadata or ()) if k == "authorization"]
    if len(values) != 1:
        raise Unauthenticated(
            "no user identity: the request carries no bearer token", reason="NO_IDENTITY"
        )
    value = values[0].decode() if isinstance(values[0], bytes) else values[0]
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("the authorization is not a bearer token", reason="BAD_IDENTITY")
    return token.strip()


class Identity(Protocol):
    async def start(self) -> None: ...

    async def user_of(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> str: ...


def make_identity(settings: IdentitySettings) -> Identity:
    if settings.identity == "header":
        log.warning(
            "identity mode 'header': any caller that reaches this port can act as any user; "
            "use identity 'jwt' in a deployment (docs/security.md)"
        )
        return HeaderIdentity(settings.user_header)
    from chat_service.jwt_identity import JwtIdentity

    return JwtIdentity(
        issuer=settings.jwt_issuer,
        audiences=[a.strip() for a in settings.jwt_audiences.split(",") if a.strip()],
        max_lifetime_s=settings.jwt_max_lifetime_s,
        jwks_file=Path(settings.jwks_file) if settings.jwks_file else None,
        jwks_uri=settings.jwks_uri or None,
    )
