"""The caller's identity, established by the gateway and passed as request metadata."""

from __future__ import annotations

import re
from collections.abc import Iterable

from server_kit.errors import Unauthenticated

_USER_ID = re.compile(r"^[A-Za-z0-9._@:|+-]{1,128}$")


def user_id_from_metadata(metadata: Iterable[tuple[str, str | bytes]] | None, header: str) -> str:
    values = [v for k, v in (metadata or ()) if k == header]
    if not values:
        raise Unauthenticated(
            f"no user identity: the request lacks the {header!r} metadata set by the gateway",
            reason="NO_IDENTITY",
        )
    value = values[-1]
    user = value.decode() if isinstance(value, bytes) else value
    if len(values) > 1 or not _USER_ID.match(user):
        raise Unauthenticated("malformed user identity", reason="BAD_IDENTITY")
    return user
