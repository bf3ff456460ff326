"""Renaming a chat over REST through Envoy: PATCH /chat/{id} with a field mask (AIP-134)."""

from __future__ import annotations

from tests.fixtures.gateway_client import call, create_chat, user_token
from tests.fixtures.stack import Gateway


def test_a_rename_changes_the_title_only_and_keeps_the_list_order(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    older = create_chat(gateway, token, "First")
    newer = create_chat(gateway, token, "Second")
    reply = call(
        gateway, "PATCH", f"/chat/{older}?update_mask=title", {"title": " Renamed "}, token
    )
    assert reply.status == 200, reply.body
    chat = reply.json()["chat"]
    assert (chat["chat_id"], chat["title"]) == (older, "Renamed")
    assert chat["settings"]["sampling"]["max_tokens"] == 16  # not in the mask: kept
    got = call(gateway, "GET", f"/chat/{older}", token=token).json()["chat"]
    assert got["title"] == "Renamed" and got["update_time"] == chat["update_time"]
    listed = call(gateway, "GET", "/chats", token=token).json()["chats"]
    assert [c["chat_id"] for c in listed] == [newer, older]  # a rename does not reorder


def test_without_a_mask_the_fields_sent_are_changed(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    chat_id = create_chat(gateway, token, "Before")
    body = {"settings": {"history_policy": "HISTORY_POLICY_FULL"}}
    reply = call(gateway, "PATCH", f"/chat/{chat_id}", body, token)
    assert reply.status == 200, reply.body
    chat = reply.json()["chat"]
    assert chat["title"] == "Before"
    assert chat["settings"]["history_policy"] == "HISTORY_POLICY_FULL"
    assert chat["settings"]["sampling"]["max_tokens"] == 16  # not sent: kept


def test_a_nested_mask_changes_that_field_only(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    chat_id = create_chat(gateway, token, "Tuned")
    path = f"/chat/{chat_id}?update_mask=settings.sampling.temperature"
    body = {"title": "ignored", "settings": {"sampling": {"temperature": 1.5, "max_tokens": 99}}}
    reply = call(gateway, "PATCH", path, body, token)
    assert reply.status == 200, reply.body
    chat = reply.json()["chat"]
    assert chat["title"] == "Tuned"
    assert chat["settings"]["sampling"] == {"temperature": 1.5, "max_tokens": 16}


def test_bad_updates_are_400_and_change_nothing(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    chat_id = create_chat(gateway, token, "Kept")
    for path, body, field in [
        (f"/chat/{chat_id}?update_mask=chat_id", {"title": "x"}, "update_mask"),
        (f"/chat/{chat_id}?update_mask=system_prompt", {"title": "x"}, "update_mask"),
        (f"/chat/{chat_id}?update_mask=settings.nope", {"title": "x"}, "update_mask"),
        (
            f"/chat/{chat_id}?update_mask=settings",
            {"settings": {"model": "m" * 300}},
            "chat.settings.model",
        ),
        (f"/chat/{chat_id}", {}, "update_mask"),
        (f"/chat/{chat_id}?update_mask=title", {"title": "x" * 1000}, "chat.title"),
        ("/chat/not-a-chat-id?update_mask=title", {"title": "x"}, "chat_id"),
    ]:
        reply = call(gateway, "PATCH", path, body, token)
        assert reply.status == 400, (path, reply.body)
        assert field in reply.body.decode(), (path, reply.body)
    assert call(gateway, "GET", f"/chat/{chat_id}", token=token).json()["chat"]["title"] == "Kept"


def test_another_users_chat_cannot_be_renamed(gateway: Gateway) -> None:
    _, alice = user_token(gateway)
    _, bob = user_token(gateway)
    chat_id = create_chat(gateway, alice, "Alice's")
    reply = call(gateway, "PATCH", f"/chat/{chat_id}?update_mask=title", {"title": "mine"}, bob)
    assert reply.status == 404 and reply.json()["code"] == 5
    assert (
        call(gateway, "GET", f"/chat/{chat_id}", token=alice).json()["chat"]["title"] == "Alice's"
    )
