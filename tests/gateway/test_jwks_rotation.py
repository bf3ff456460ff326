"""A rotated JWKS reaches a running Envoy without a restart (issue 15): Envoy fetches the local
key set from gateway.jwks_server on loopback, as it would an IdP's, instead of reading the
file once. Real Envoy, real chat service, real key files."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.config import GatewaySettings
from gateway.jwt_keys import mint_token, rotate_keys
from server_kit.processes import ManagedProcess, free_port, python_module
from tests.fixtures.services import RunningService
from tests.fixtures.stack import gateway_settings_for, start_envoy

REFRESH_S = 1.0


def status_of(port: int, token: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/chats", headers={"authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def wait_for_status(port: int, token: str, expected: int, timeout_s: float) -> float:
    """Seconds until the gateway answers `expected` for this token."""
    start = time.monotonic()
    while (status := status_of(port, token)) != expected:
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"still {status} after {timeout_s}s, expected {expected}")
        time.sleep(0.2)
    return time.monotonic() - start


@pytest.fixture()
def jwks_server(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    keys = tmp_path / "keys"
    rotate_keys(keys)  # creates the first key too
    port = free_port()
    process = ManagedProcess(
        name="jwks",
        argv=python_module(
            "gateway.jwks_server", "--file", str(keys / "jwks.json"), "--port", str(port)
        ),
        log_path=tmp_path / "jwks.log",
        ready_url=f"http://127.0.0.1:{port}/healthz",
    )
    process.start()
    try:
        process.wait_ready(20)
        yield keys, port
    finally:
        process.stop()


def test_a_rotated_key_set_is_used_without_a_restart(
    tmp_path: Path, jwks_server: tuple[Path, int], chat_server_sqlite: RunningService
) -> None:
    keys, jwks_port = jwks_server
    common = {"keys_dir": keys, "user_rate_limit_per_minute": 0}
    fetching = gateway_settings_for(
        tmp_path, chat_server_sqlite.address, jwks_file_server=f"127.0.0.1:{jwks_port}",
        jwks_file_refresh_s=REFRESH_S, **common,
    )  # fmt: skip
    reading_once = gateway_settings_for(tmp_path, chat_server_sqlite.address, **common)
    envoys = [start_envoy(fetching, tmp_path, "fetching"),
              start_envoy(reading_once, tmp_path, "reading-once")]  # fmt: skip
    try:
        first = mint_token(keys, "rotation-user")
        wait_for_status(fetching.listen_port, first, 200, 10)
        assert status_of(reading_once.listen_port, first) == 200

        rotate_keys(keys)
        second = mint_token(keys, "rotation-user")
        waited = wait_for_status(fetching.listen_port, second, 200, 10 + REFRESH_S)
        assert status_of(fetching.listen_port, first) == 200, "the previous key stays valid"
        # The file read once still knows only the first key (what a restart used to fix).
        assert status_of(reading_once.listen_port, second) == 401
        print(f"new key accepted {waited:.1f}s after the rotation")

        rotate_keys(keys)  # the first key leaves the set
        wait_for_status(fetching.listen_port, first, 401, 10 + REFRESH_S)
        assert status_of(fetching.listen_port, second) == 200
    finally:
        for envoy in envoys:
            envoy.stop()


def test_the_key_server_serves_only_a_key_set(jwks_server: tuple[Path, int]) -> None:
    keys, port = jwks_server
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/jwks.json", timeout=5) as response:
        assert len(json.load(response)["keys"]) == 2  # the first rotation kept its predecessor
    for path, expected in (("/other", 404), ("/keys/../signing_key.pem", 404)):
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5)
        assert error.value.code == expected
    (keys / "jwks.json").write_text('{"keys": []}')  # half-written or emptied: Envoy keeps its set
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/jwks.json", timeout=5)
    assert error.value.code == 503


def test_the_key_server_is_loopback_only() -> None:
    with pytest.raises(ValidationError, match="loopback"):
        GatewaySettings(jwks_file_server="10.0.0.5:8089")
    assert GatewaySettings(jwks_file_server="127.0.0.1:8089").jwks_fetch == (
        "http://127.0.0.1:8089/jwks.json",
        10.0,
    )
    assert GatewaySettings().jwks_fetch is None  # the file, read once
