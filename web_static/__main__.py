"""`python -m web_static --port 8090 --root web/dist [--dev-tokens --keys-dir .run/keys]`.

Envoy routes every path that is not an API path here (GatewaySettings.web_upstreams). Bind it
to loopback (the default) or a pod address: browsers reach it through Envoy, on the API's
origin. See web_static/server.py for what it serves.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from web_static.server import WebConfig, make_server, serve_in_thread

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web_static", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090, help="0: a free port")
    parser.add_argument("--root", type=Path, default=ROOT / "web" / "dist", help="the UI build")
    parser.add_argument(
        "--dev-tokens",
        action="store_true",
        help="DEVELOPMENT ONLY: POST /dev/token mints a token for any user name",
    )
    parser.add_argument("--keys-dir", type=Path, help="the local issuer's keys (--dev-tokens)")
    parser.add_argument("--token-ttl-s", type=int, default=8 * 3600)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    if args.dev_tokens and args.keys_dir is None:
        parser.error("--dev-tokens needs --keys-dir")
    if args.keys_dir is not None and not args.dev_tokens:
        parser.error("--keys-dir is only used with --dev-tokens")
    if not 0 < args.token_ttl_s <= 7 * 24 * 3600:
        parser.error("--token-ttl-s must be between 1 s and 7 days")
    if not (args.root / "index.html").is_file():
        parser.error(f"{args.root}/index.html not found: build the UI (scripts/build_web.sh)")
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )

    config = WebConfig(
        root=args.root.resolve(),
        keys_dir=args.keys_dir.resolve() if args.dev_tokens else None,
        token_ttl_s=args.token_ttl_s,
    )
    server = make_server(args.host, args.port, config)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    host, port = server.server_address[:2]
    mode = " (development tokens on)" if config.dev_tokens else ""
    print(f"web_static: serving {config.root} on http://{host!s}:{port}{mode}", flush=True)
    serve_in_thread(server)
    stop.wait()
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
