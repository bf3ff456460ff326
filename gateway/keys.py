"""The local issuer's keys.

`python -m gateway.keys init [--dir DIR]`: create the signing key + JWKS if missing.
`python -m gateway.keys rotate [--dir DIR]`: a new signing key; the JWKS keeps the previous
one for tokens already issued. Envoy (through gateway.jwks_server) and the chat service pick
the new set up without a restart.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway.config import GatewaySettings
from gateway.jwt_keys import init_keys, rotate_keys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.keys", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser("init", help="create the signing key and JWKS (idempotent)")
    rotate = commands.add_parser("rotate", help="a new signing key (the JWKS keeps the last)")
    for command in (init, rotate):
        command.add_argument(
            "--dir", type=Path, default=GatewaySettings().keys_dir, help="key directory"
        )
    args = parser.parse_args(argv)

    if args.command == "rotate":
        files = rotate_keys(args.dir)
        print(f"rotated: {files.private_key} {files.jwks}", file=sys.stderr)
        return 0
    files, created = init_keys(args.dir)
    state = "created" if created else "already present"
    print(f"{state}: {files.private_key} {files.jwks}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
