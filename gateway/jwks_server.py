"""Serves a JWKS file to Envoy on loopback, so that a rotated key set is picked up without a
restart (docs/security.md).

Envoy reads a `local_jwks` file once, when it loads its config; a `remote_jwks` it fetches
again every `cache_duration`. This server turns the file (written by `python -m gateway.keys`,
or a Kubernetes Secret mounted into the pod, which the kubelet updates in place) into such a
source: `GET /jwks.json` answers the file as it is now. A file that is missing or not a key set
answers 503, and Envoy keeps the keys it has. It binds loopback only: the keys are public, but
whoever can answer this URL decides which tokens Envoy accepts.

    python -m gateway.jwks_server --file .run/keys/jwks.json --port 8089
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from gateway.config import JWKS_PATH, loopback

log = logging.getLogger("gateway.jwks_server")

MAX_BYTES = 1 << 20  # a key set is a few KB; a larger file is not one


def read_key_set(path: Path) -> bytes | None:
    """The file's bytes when it holds a JWKS ({"keys": [...]}, at least one key), else None."""
    try:
        data = path.read_bytes()
        if len(data) > MAX_BYTES:
            return None
        parsed = json.loads(data)
    except (OSError, ValueError):
        return None
    keys = parsed.get("keys") if isinstance(parsed, dict) else None
    return data if isinstance(keys, list) and keys else None


def make_handler(path: Path) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "chatstack-jwks"

        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] == "/healthz":
                self._answer(200, b"ok\n", "text/plain")
            elif self.path.split("?", 1)[0] != JWKS_PATH:
                self._answer(404, b'{"error": "not found"}', "application/json")
            elif (body := read_key_set(path)) is None:
                log.warning("JWKS file missing or not a key set: %s", path)
                self._answer(503, b'{"error": "no key set"}', "application/json")
            else:
                self._answer(200, body, "application/json")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.send_header("cache-control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug(format, *args)

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, required=True, help="the JWKS file to serve")
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    if not loopback(args.host):
        parser.error(f"--host must be a loopback address, got {args.host!r}")
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(message)s")
    server = ThreadingHTTPServer((args.host, args.port), make_handler(args.file))
    server.daemon_threads = True
    log.info("serving %s on http://%s:%d%s", args.file, args.host, args.port, JWKS_PATH)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
