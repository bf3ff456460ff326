"""`python -m gateway.keys init [--dir DIR]`: create the local signing key + JWKS if missing."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway.config import GatewaySettings
from gateway.jwt_keys import init_keys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.keys", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser("init", help="create the signing key and JWKS (idempotent)")
    init.add_argument("--dir", type=Path, default=GatewaySettings().keys_dir, help="key directory")
    args = parser.parse_args(argv)

    files, created = init_keys(args.dir)
    state = "created" if created else "already present"
    print(f"{state}: {files.private_key} {files.jwks}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
