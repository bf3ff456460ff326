"""grpcurl, a third-party client that knows nothing of our protos, through Envoy's public
listener: it discovers the API by reflection (list, describe), creates a chat, streams a
completion, and an unrouted method fails at once with UNIMPLEMENTED. grpcurl is built from the
Go module proxy by scripts/tools.sh (the test is skipped, saying so, if it could not be)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.fixtures.stack import Gateway
from tests.fixtures.tools import ROOT, tool

CHAT_SERVICE = "chatstack.chat.v1.ChatService"
# A hang (what grpcurl met before reflection was routed) ends here and fails the test.
DEADLINE_S = 60


def grpcurl(
    gateway: Gateway, *args: str, user: str = "grpcurl-user"
) -> subprocess.CompletedProcess[str]:
    command = [
        str(tool("grpcurl")), "-plaintext", "-max-time", str(DEADLINE_S),
        "-H", f"authorization: Bearer {gateway.token(user)}", *args,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=DEADLINE_S + 10)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout


def test_list_and_describe_show_the_public_api(gateway: Gateway) -> None:
    listed = ok(grpcurl(gateway, gateway.grpc_address, "list")).split()
    assert listed == [CHAT_SERVICE, "grpc.reflection.v1alpha.ServerReflection"]
    described = ok(grpcurl(gateway, gateway.grpc_address, "describe", CHAT_SERVICE))
    assert "rpc Complete ( .chatstack.chat.v1.CompleteRequest ) returns ( stream" in described
    assert "rpc CreateChat" in described


def test_a_chat_created_and_a_completion_streamed(gateway: Gateway) -> None:
    created = json.loads(
        ok(grpcurl(gateway, "-d", '{"title": "from grpcurl"}', gateway.grpc_address,
                   f"{CHAT_SERVICE}/CreateChat"))
    )  # fmt: skip
    chat_id = created["chat"]["chat_id"]  # grpcurl prints the proto field names
    request = {
        "chatId": chat_id,
        "content": "Say hello.",
        "sampling": {"temperature": 0, "maxTokens": 8},
    }
    out = ok(grpcurl(gateway, "-d", json.dumps(request), gateway.grpc_address,
                     f"{CHAT_SERVICE}/Complete"))  # fmt: skip
    # grpcurl prints each streamed message as its own JSON object
    events = _objects(out)
    assert any("delta" in e for e in events)
    final = events[-1]["final"]
    assert final["assistant_message_id"] and final["usage"]["completion_tokens"] > 0
    assert "".join(e["delta"]["text"] for e in events if "delta" in e).strip()


def test_the_buf_image_of_the_protos_is_enough_to_call_the_api(
    gateway: Gateway, tmp_path: Path
) -> None:
    """What a user without reflection does: the API image built by buf from this repo's
    module (README, "The gRPC APIs"), given to grpcurl."""
    image = tmp_path / "chatstack-api.binpb"
    buf = ROOT / ".venv" / "bin" / "buf"
    subprocess.run([str(buf), "build", "-o", str(image)], cwd=ROOT, check=True, timeout=120)
    created = json.loads(
        ok(grpcurl(gateway, "-protoset", str(image), "-use-reflection=false", "-d",
                   '{"title": "from the image"}', gateway.grpc_address,
                   f"{CHAT_SERVICE}/CreateChat"))
    )  # fmt: skip
    assert created["chat"]["title"] == "from the image"


def test_an_unrouted_method_is_unimplemented_at_once(gateway: Gateway, tmp_path: Path) -> None:
    """A service the gateway does not route, given to grpcurl as a proto file."""
    (tmp_path / "probe.proto").write_text(
        'syntax = "proto3";\npackage probe.v1;\n'
        "message Empty {}\nservice Probe { rpc Ping(Empty) returns (Empty); }\n"
    )
    result = grpcurl(
        gateway, "-import-path", str(tmp_path), "-proto", "probe.proto", "-d", "{}",
        gateway.grpc_address, "probe.v1.Probe/Ping",
    )  # fmt: skip
    assert result.returncode != 0
    assert "Code: Unimplemented" in result.stdout + result.stderr


def test_without_a_token_reflection_is_refused(gateway: Gateway) -> None:
    result = subprocess.run(
        [str(tool("grpcurl")), "-plaintext", "-max-time", str(DEADLINE_S),
         gateway.grpc_address, "list"],
        capture_output=True, text=True, timeout=DEADLINE_S + 10,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Unauthenticated" in result.stdout + result.stderr


def _objects(text: str) -> list[dict[str, Any]]:
    """The top-level JSON objects in grpcurl's output (pretty-printed one after another)."""
    decoder, objects, index = json.JSONDecoder(), [], 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        value, index = decoder.raw_decode(text, index)
        objects.append(value)
    return objects
