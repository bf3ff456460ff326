"""Export and import over REST through Envoy: GET /chats:export answers the JSON document as
the body, POST /chats:import takes a file as the body (this service's export or ChatGPT's
conversations.json). Imports are idempotent, and a bad file is a 400 naming the field at fault
that changes nothing."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any

from tests.fixtures.gateway_client import (
    Reply,
    assert_completed,
    call,
    complete_sse,
    create_chat,
    user_token,
)
from tests.fixtures.stack import Gateway

SAMPLE = Path(__file__).resolve().parent / "data" / "chatgpt_conversations.json"


def send_file(
    gw: Gateway, token: str, body: bytes, content_type: str = "application/json"
) -> Reply:
    """POST /chats:import with `body` as the raw request body, as a browser uploads a file."""
    conn = http.client.HTTPConnection("127.0.0.1", gw.settings.listen_port, timeout=60)
    headers = {"authorization": f"Bearer {token}", "content-type": content_type}
    try:
        conn.request("POST", "/chats:import", body=body, headers=headers)
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def export(gw: Gateway, token: str, *chat_ids: str) -> Any:
    query = "&".join(f"chat_ids={chat_id}" for chat_id in chat_ids)
    reply = call(gw, "GET", f"/chats:export?{query}" if query else "/chats:export", token=token)
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"].startswith("application/json")
    return reply.json()


def chats_of(gw: Gateway, token: str) -> list[dict[str, Any]]:
    reply = call(gw, "GET", "/chats?page_size=100", token=token)
    assert reply.status == 200, reply.body
    chats: list[dict[str, Any]] = reply.json()["chats"]
    return chats


def messages_of(gw: Gateway, token: str, chat_id: str) -> list[dict[str, Any]]:
    reply = call(gw, "GET", f"/chat/{chat_id}?page_size=200", token=token)
    assert reply.status == 200, reply.body
    messages: list[dict[str, Any]] = reply.json()["messages"]
    return messages


def without_ids(doc: dict[str, Any]) -> list[dict[str, Any]]:
    chats: list[dict[str, Any]] = doc["chats"]
    for chat in chats:
        del chat["chat_id"]
        for message in chat["messages"]:
            del message["message_id"], message["parent_id"]
    return chats


def test_export_one_chat_or_all_of_them(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    older = create_chat(gateway, token, "Talked")
    assert_completed(complete_sse(gateway, token, older, "Say hello."))
    newer = create_chat(gateway, token, "Empty")

    one = export(gateway, token, older)
    assert (one["format"], one["version"]) == ("chatstack.chats", 1)
    (chat,) = one["chats"]
    assert (chat["chat_id"], chat["title"]) == (older, "Talked")
    user, reply = chat["messages"]
    assert (user["role"], user["content"], user["parent_id"]) == ("user", "Say hello.", None)
    assert (reply["role"], reply["status"], reply["parent_id"]) == (
        "assistant",
        "complete",
        user["message_id"],
    )
    assert reply["content"] and reply["usage"]["completion_tokens"] > 0
    assert chat["settings"]["sampling"]["max_tokens"] == 16

    everything = export(gateway, token)
    assert [c["chat_id"] for c in everything["chats"]] == [newer, older]

    _, stranger = user_token(gateway)
    refused = call(gateway, "GET", f"/chats:export?chat_ids={older}", token=stranger)
    assert refused.status == 404 and refused.json()["code"] == 5
    bad = call(gateway, "GET", "/chats:export?chat_ids=not-an-id", token=token)
    assert bad.status == 400 and "chat_ids[0]" in bad.json()["message"]
    assert call(gateway, "GET", "/chats:export").status == 401


def test_a_chatgpt_export_is_imported_once(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    reply = send_file(gateway, token, SAMPLE.read_bytes())
    assert reply.status == 200, reply.body
    result = reply.json()
    assert (result["format"], result["imported"], result["skipped"]) == ("chatgpt", 2, 0)
    titles = ["Sorting in Python", "Weekend in Lisbon"]
    assert [c["title"] for c in result["chats"]] == titles
    listed = chats_of(gateway, token)
    assert [c["title"] for c in listed] == titles
    assert listed[0]["create_time"] == "2024-06-04T11:20:00.500Z"
    sorting = messages_of(gateway, token, listed[0]["chat_id"])
    assert [(m["role"], m["content"]) for m in sorting[2:]] == [
        ("ROLE_USER", "And by length?"),  # the branch the user was on
        ("ROLE_ASSISTANT", "Pass key=len: sorted(words, key=len)."),
    ]
    assert {m["status"] for m in sorting} == {"MESSAGE_STATUS_COMPLETE"}
    # The other branch came too: the question shown is the second of two versions.
    assert len(sorting) == 4 and len(sorting[2]["sibling_ids"]) == 2
    assert sorting[2]["sibling_ids"][1] == sorting[2]["message_id"]

    again = send_file(gateway, token, SAMPLE.read_bytes(), "application/octet-stream")
    assert again.status == 200, again.body
    assert (again.json()["imported"], again.json()["skipped"]) == (0, 2)
    assert chats_of(gateway, token) == listed
    assert messages_of(gateway, token, listed[0]["chat_id"]) == sorting


def test_a_malformed_file_is_400_naming_the_field_and_changes_nothing(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    kept = create_chat(gateway, token, "Kept")
    doc = json.loads(SAMPLE.read_text())
    doc[1]["mapping"]["a1-ans1"]["message"]["author"]["role"] = "critic"
    for body, words in [
        (json.dumps(doc).encode(), "[1].mapping.a1-ans1.message.author.role"),
        (b'[{"title": "cut short', "not JSON"),
        (b"PK\x03\x04 a zip", "conversations.json inside it"),
        (b"", "empty"),
    ]:
        reply = send_file(gateway, token, body)
        assert reply.status == 400, (words, reply.body)
        error = reply.json()
        assert error["code"] == 3 and words in error["message"], error
    assert [c["chat_id"] for c in chats_of(gateway, token)] == [kept]


def test_an_export_imported_by_another_user_has_the_same_content(gateway: Gateway) -> None:
    _, alice = user_token(gateway)
    chat_id = create_chat(gateway, alice, "Shared")
    assert_completed(complete_sse(gateway, alice, chat_id, "Name a colour."))
    create_chat(gateway, alice, "")
    document = call(gateway, "GET", "/chats:export", token=alice)
    assert document.status == 200, document.body

    _, bob = user_token(gateway)
    reply = send_file(gateway, bob, document.body)
    assert reply.status == 200, reply.body
    assert (reply.json()["format"], reply.json()["imported"]) == ("chatstack", 2)
    assert without_ids(export(gateway, bob)) == without_ids(json.loads(document.body))
    bobs = [c["chat_id"] for c in chats_of(gateway, bob)]
    assert chat_id not in bobs and len(bobs) == 2

    back = send_file(gateway, alice, document.body)  # one's own export: all still there
    assert (back.json()["imported"], back.json()["skipped"]) == (0, 2)
    assert len(chats_of(gateway, alice)) == 2


def long_conversation(index: int, messages: int) -> dict[str, Any]:
    """A ChatGPT conversation of `messages` messages of about 20 kB each."""
    mapping: dict[str, Any] = {"root": {"id": "root", "message": None, "parent": None}}
    parent = "root"
    for i in range(messages):
        node = f"n{i}"
        role = "user" if i % 2 == 0 else "assistant"
        mapping[node] = {
            "id": node,
            "parent": parent,
            "children": [],
            "message": {
                "id": node,
                "author": {"role": role},
                "create_time": 1717400000 + i,
                "content": {"content_type": "text", "parts": [f"{i}: " + "lorem ipsum " * 1700]},
            },
        }
        mapping[parent].setdefault("children", []).append(node)
        parent = node
    return {
        "id": f"long-{index}",
        "title": f"Long {index}",
        "create_time": 1717400000 + index,
        "mapping": mapping,
        "current_node": parent,
    }


def test_a_history_larger_than_a_request_exports_whole(gateway: Gateway) -> None:
    """Files are imported (one larger than the gateway's cap on other requests, here 256 KiB:
    an import has its own, max_transfer_bytes); their export together is many times that cap,
    and comes back whole. A file over the import cap is refused (413) before it reaches the
    service."""
    _, token = user_token(gateway)
    cap = gateway.settings.max_request_bytes
    for index in range(10):
        body = json.dumps([long_conversation(index, 11)]).encode()
        assert len(body) < cap
        reply = send_file(gateway, token, body)
        assert reply.status == 200, reply.body
    response = call(gateway, "GET", "/chats:export", token=token)
    assert response.status == 200, response.body
    assert len(response.body) > 8 * cap
    chats = json.loads(response.body)["chats"]
    assert [c["title"] for c in chats] == [f"Long {i}" for i in reversed(range(10))]
    assert all(len(c["messages"]) == 11 for c in chats)
    assert chats[0]["messages"][-1]["content"].startswith("10: lorem")
    large = json.dumps([long_conversation(99, 20)]).encode()
    assert len(large) > cap
    assert send_file(gateway, token, large).status == 200
    too_big = b"[" + b" " * gateway.settings.max_transfer_bytes + b"]"
    assert send_file(gateway, token, too_big).status == 413
