"""The web UI's static files, served to Envoy's `web` cluster (same origin as the API).

- Files under the root (`web/dist`, Vite's production build). Vite puts every JS/CSS file under
  `assets/` with a content hash in its name: those are cached for a year (`immutable`); anything
  else (index.html above all) is revalidated on every load, so a new build shows up at once.
- SPA fallback: a path that names no file and has no extension (`/c/<chat id>`) gets index.html,
  the app routes it in the browser; a missing file with an extension is a plain 404.
- `GET /ui-config.json`: what the sign-in page offers (`{"dev_tokens": bool}`).
- DEV ONLY, with `--dev-tokens --keys-dir DIR`: `POST /dev/token {"user": "alice"}` mints a
  token for that user with the local signing key (gateway.jwt_keys), so the local stack has a
  sign-in page. It signs in anybody as anybody: never enable it where an identity provider is
  meant to authenticate users. Without the flag the path does not exist (404).

Every answer carries a strict Content-Security-Policy (scripts only from this origin, no
inline script, no plugins, no framing) as a second fence behind the UI's sanitizing renderer.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from gateway.jwt_keys import mint_token

log = logging.getLogger("web_static")

INDEX = "index.html"
HASHED_PREFIX = "/assets/"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MAX_BODY = 4096
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".webmanifest": "application/manifest+json",
}


@dataclass(frozen=True)
class WebConfig:
    root: Path
    keys_dir: Path | None = None  # set: POST /dev/token mints tokens (development only)
    token_ttl_s: int = 8 * 3600

    @property
    def dev_tokens(self) -> bool:
        return self.keys_dir is not None


def content_type(path: Path) -> str:
    known = TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    return known or "application/octet-stream"


class Handler(BaseHTTPRequestHandler):
    server_version = "chatstack-web"
    protocol_version = "HTTP/1.1"  # keep-alive with Envoy: every answer has a Content-Length
    config: WebConfig  # set on the subclass made by make_server()

    # --- plumbing ---------------------------------------------------------------------------

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in {**SECURITY_HEADERS, **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        self._send(
            status, body, "application/json", {"Cache-Control": "no-store", **(headers or {})}
        )

    def _error(self, status: HTTPStatus, code: int, message: str) -> None:
        """The API's error shape: {"code": <google.rpc.Code>, "message": ..., "details": []}."""
        self._json(status, {"code": code, "message": message, "details": []})

    # --- GET / HEAD -------------------------------------------------------------------------

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/ui-config.json":
            self._json(HTTPStatus.OK, {"dev_tokens": self.config.dev_tokens})
            return
        if path == "/dev/token":
            if self.config.dev_tokens:
                self._error(HTTPStatus.METHOD_NOT_ALLOWED, 12, "use POST")
            else:
                self._error(HTTPStatus.NOT_FOUND, 5, "not found")
            return
        file = self._resolve(path)
        if file is None:
            self._error(HTTPStatus.NOT_FOUND, 5, "not found")
            return
        try:
            body = file.read_bytes()
        except OSError:
            self._error(HTTPStatus.NOT_FOUND, 5, "not found")
            return
        hashed = path.startswith(HASHED_PREFIX) and file.name != INDEX
        self._send(
            HTTPStatus.OK,
            body,
            content_type(file),
            {"Cache-Control": IMMUTABLE if hashed else REVALIDATE},
        )

    def _resolve(self, url_path: str) -> Path | None:
        """The file for a URL path, inside the root only; index.html for app routes."""
        root = self.config.root
        relative = unquote(url_path).lstrip("/")
        if "\x00" in relative or "\\" in relative:
            return None
        parts = [p for p in relative.split("/") if p]
        if any(p in (".", "..") or p.startswith(".") for p in parts):
            return None  # no traversal, no dotfiles (build stamps)
        candidate = root.joinpath(*parts) if parts else root / INDEX
        try:
            resolved = candidate.resolve()
            resolved.relative_to(root.resolve())
        except (OSError, ValueError):
            return None
        if resolved.is_dir():
            resolved = resolved / INDEX
        if resolved.is_file():
            return resolved
        last = parts[-1] if parts else ""
        if "." in last or url_path.startswith(HASHED_PREFIX):
            return None  # a missing file (stale asset, typo): 404, not the app
        index = root / INDEX
        return index if index.is_file() else None

    # --- POST /dev/token --------------------------------------------------------------------

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path != "/dev/token" or not self.config.dev_tokens:
            self._drain()
            self._error(HTTPStatus.NOT_FOUND, 5, "not found")
            return
        # JSON only: a cross-site form (text/plain, urlencoded) cannot post here without a
        # CORS preflight, which this server never grants.
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            self._drain()
            self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, 3, "send application/json")
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            self.close_connection = True
            self._error(HTTPStatus.BAD_REQUEST, 3, f"body: expected 1 to {MAX_BODY} bytes")
            return
        try:
            payload = json.loads(self.rfile.read(length))
        except (ValueError, UnicodeDecodeError):
            self._error(HTTPStatus.BAD_REQUEST, 3, "body: not valid JSON")
            return
        user = payload.get("user") if isinstance(payload, dict) else None
        if not isinstance(user, str) or not USER_NAME.fullmatch(user):
            self._error(
                HTTPStatus.BAD_REQUEST,
                3,
                "user: 1 to 64 letters, digits or . _ @ - (starting with a letter or digit)",
            )
            return
        assert self.config.keys_dir is not None
        try:
            token = mint_token(self.config.keys_dir, user, ttl_s=self.config.token_ttl_s)
        except (OSError, ValueError) as exc:
            log.error("cannot mint a development token: %s", exc)
            self._error(HTTPStatus.SERVICE_UNAVAILABLE, 14, "the local token issuer is not ready")
            return
        self._json(
            HTTPStatus.OK,
            {"token": token, "user": user, "expires_in": self.config.token_ttl_s},
        )

    def _drain(self) -> None:
        """Reads a small request body so the keep-alive connection stays usable."""
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if 0 <= length <= MAX_BODY:
            self.rfile.read(length)
        else:
            self.close_connection = True

    def do_PUT(self) -> None:
        self._not_allowed()

    def do_DELETE(self) -> None:
        self._not_allowed()

    def do_PATCH(self) -> None:
        self._not_allowed()

    def _not_allowed(self) -> None:
        self._drain()
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, 12, "method not allowed")


def make_server(host: str, port: int, config: WebConfig) -> ThreadingHTTPServer:
    handler = type("ConfiguredHandler", (Handler,), {"config": config})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="web-static", daemon=True)
    thread.start()
    return thread
