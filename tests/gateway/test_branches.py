"""Edit and branch over REST through Envoy (docs/branches.md): an edited question and a
regenerated answer become versions at a fork, GetChat shows the branch selected, and the prompt
of a turn goes on the branch shown. Real services: chat, inference, Envoy."""

from __future__ import annotations

from typing import Any

from tests.fixtures.gateway_client import call, create_chat, sse, user_token
from tests.fixtures.stack import Gateway


def _turn(gw: Gateway, token: str, chat_id: str, body: dict[str, Any]) -> dict[str, Any]:
    body = {"bypass_cache": True, "sampling": {"max_tokens": 4}, **body}
    events = sse(gw, token, "POST", f"/chat/{chat_id}/completion", body)
    assert "final" in events[-1], events
    final: dict[str, Any] = events[-1]["final"]
    return final


def _shown(gw: Gateway, token: str, chat_id: str) -> dict[str, Any]:
    reply = call(gw, "GET", f"/chat/{chat_id}", token=token)
    assert reply.status == 200, reply.body
    doc: dict[str, Any] = reply.json()
    return doc


def test_edit_regenerate_and_select(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    chat_id = create_chat(gateway, token, "Branches")
    first = _turn(gateway, token, chat_id, {"content": "Name a fruit."})
    second = _turn(gateway, token, chat_id, {"content": "Name a colour."})

    # Edit the second question: a sibling under the first answer, shown at once.
    edited = _turn(
        gateway,
        token,
        chat_id,
        {"content": "Name a city.", "parent_message_id": first["assistant_message_id"]},
    )
    doc = _shown(gateway, token, chat_id)
    assert doc["chat"]["current_message_id"] == edited["assistant_message_id"]
    messages = doc["messages"]
    assert [m["content"] for m in messages[:3]] == [
        "Name a fruit.",
        messages[1]["content"],
        "Name a city.",
    ]
    assert len(messages) == 4
    question = messages[2]
    assert question["parent_id"] == first["assistant_message_id"]
    assert question["sibling_ids"] == [second["user_message_id"], edited["user_message_id"]]
    assert not messages[0].get("sibling_ids") and not messages[0].get("parent_id")

    # Regenerate the edited question's answer: a sibling answer, no new question.
    again = _turn(gateway, token, chat_id, {"regenerate_message_id": edited["user_message_id"]})
    assert again["user_message_id"] == edited["user_message_id"]
    messages = _shown(gateway, token, chat_id)["messages"]
    assert len(messages) == 4 and messages[-1]["message_id"] == again["assistant_message_id"]
    assert messages[-1]["sibling_ids"] == [
        edited["assistant_message_id"],
        again["assistant_message_id"],
    ]

    # Select the original second question: GetChat shows that branch again.
    reply = call(
        gateway,
        "POST",
        f"/chat/{chat_id}:selectMessage",
        {"message_id": second["user_message_id"]},
        token,
    )
    assert reply.status == 200, reply.body
    assert reply.json()["chat"]["current_message_id"] == second["assistant_message_id"]
    messages = _shown(gateway, token, chat_id)["messages"]
    assert [m["content"] for m in messages[::2]] == ["Name a fruit.", "Name a colour."]

    # A turn on this branch goes on under its leaf (its prompt: tests/chat/test_branch_prompts).
    follow = _turn(gateway, token, chat_id, {"content": "And a number?"})
    messages = _shown(gateway, token, chat_id)["messages"]
    assert [m["content"] for m in messages[::2]] == [
        "Name a fruit.",
        "Name a colour.",
        "And a number?",
    ]
    assert messages[-1]["message_id"] == follow["assistant_message_id"]


def test_bad_branch_requests_are_400_or_404(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    chat_id = create_chat(gateway, token, "Bad")
    done = _turn(gateway, token, chat_id, {"content": "Hello"})
    other = create_chat(gateway, token, "Other")
    missing = "01900000-0000-7000-8000-000000000000"
    url = f"/chat/{chat_id}/completion"
    cases: list[tuple[str, dict[str, Any], int, str]] = [
        (url, {"content": "x", "parent_message_id": "nope"}, 400, "parent_message_id"),
        (url, {"content": "x", "parent_message_id": missing}, 404, "parent_message_id"),
        (url, {"regenerate_message_id": missing}, 404, "regenerate_message_id"),
        (
            url,
            {"regenerate_message_id": done["assistant_message_id"]},
            400,
            "regenerate_message_id",
        ),
        (url, {"content": "x", "regenerate_message_id": done["user_message_id"]}, 400, "content"),
        (
            url,
            {"content": "x", "parent_message_id": missing, "edit_first_message": True},
            400,
            "edit_first_message",
        ),
        (
            f"/chat/{other}/completion",
            {"content": "x", "parent_message_id": done["assistant_message_id"]},
            404,
            "parent_message_id",
        ),
        (f"/chat/{chat_id}:selectMessage", {"message_id": missing}, 404, "message_id"),
        (f"/chat/{chat_id}:selectMessage", {"message_id": ""}, 400, "message_id"),
        (
            f"/chat/{other}/turns",
            {"regenerate_message_id": done["user_message_id"]},
            404,
            "regenerate_message_id",
        ),
    ]
    for path, body, status, field in cases:
        reply = call(gateway, "POST", path, body, token)
        assert reply.status == status, (path, body, reply.body)
        assert field in reply.body.decode(), (path, body, reply.body)
    _, stranger = user_token(gateway)
    reply = call(
        gateway,
        "POST",
        f"/chat/{chat_id}:selectMessage",
        {"message_id": done["user_message_id"]},
        stranger,
    )
    assert reply.status == 404
    assert len(_shown(gateway, token, chat_id)["messages"]) == 2


def test_submitted_edit_and_regenerate_are_followed_to_their_new_answers(
    gateway: Gateway,
) -> None:
    """The web UI's path: SubmitCompletion placed in the tree, then StreamTurn with the id it
    returns, which names the new answer (a regenerated answer's question keeps its own id)."""
    _, token = user_token(gateway)
    chat_id = create_chat(gateway, token, "Submitted branches")
    first = _turn(gateway, token, chat_id, {"content": "Name a river."})

    def submit_and_follow(body: dict[str, Any]) -> dict[str, Any]:
        body = {"bypass_cache": True, "sampling": {"max_tokens": 4}, **body}
        reply = call(gateway, "POST", f"/chat/{chat_id}/turns", body, token)
        assert reply.status == 200, reply.body
        request_id = reply.json()["client_request_id"]
        events = sse(gateway, token, "GET", f"/chat/{chat_id}/turns/{request_id}/stream")
        assert "final" in events[-1], events
        final: dict[str, Any] = events[-1]["final"]
        assert final["assistant_message_id"] == reply.json()["assistant_message"]["message_id"]
        return final

    again = submit_and_follow({"regenerate_message_id": first["user_message_id"]})
    assert again["user_message_id"] == first["user_message_id"]
    assert again["assistant_message_id"] != first["assistant_message_id"]
    edited = submit_and_follow({"content": "Name a lake.", "edit_first_message": True})
    messages = _shown(gateway, token, chat_id)["messages"]
    assert [m["content"] for m in messages[:1]] == ["Name a lake."]
    assert messages[-1]["message_id"] == edited["assistant_message_id"]
    assert messages[0]["sibling_ids"] == [first["user_message_id"], edited["user_message_id"]]
