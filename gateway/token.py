"""`python -m gateway.token USERNAME [--ttl 3600]`: print a JWT for USERNAME, signed by the
local key (see `python -m gateway.keys init`). Use it as `Authorization: Bearer <token>`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway.config import GatewaySettings
from gateway.jwt_keys import mint_token


def main(argv: list[str] | None = None) -> int:
    # Defaults follow the gateway's settings (CHATSTACK_GATEWAY_* environment), so a token
    # minted here is one that the configured Envoy accepts.
    settings = GatewaySettings()
    parser = argparse.ArgumentParser(prog="python -m gateway.token", description=__doc__)
    parser.add_argument("username", help="the `sub` claim: the user id the services see")
    parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    parser.add_argument("--dir", type=Path, default=settings.keys_dir, help="key directory")
    parser.add_argument("--issuer", default=settings.jwt_issuer)
    parser.add_argument("--audience", default=settings.jwt_audiences[0])
    args = parser.parse_args(argv)
    try:
        token = mint_token(
            args.dir, args.username, ttl_s=args.ttl, issuer=args.issuer, audience=args.audience
        )
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
