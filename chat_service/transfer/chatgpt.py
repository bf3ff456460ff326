"""ChatGPT's `conversations.json` (its data export): a JSON array of conversations, each a tree
of messages in `mapping` ({node id: {id, message, parent, children}}) with `current_node` the
message the user last saw. The whole tree is imported (docs/branches.md), and the branch to
`current_node` is the one shown (docs/export-format.md says what is kept and skipped)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from chat_service.domain import MessageStatus, Role
from chat_service.transfer.fields import Field
from chat_service.transfer.model import MAX_MODEL_CHARS, ImportedChat, ImportedMessage, ImportLimits

ROLES = {"user": Role.USER, "assistant": Role.ASSISTANT, "system": Role.SYSTEM}
SKIPPED_ROLES = ("tool",)  # tool calls and their results: not part of a chat here
TEXT_TYPES = ("text", "multimodal_text")  # multimodal: its text parts (images are left out)
INTERRUPTED = ("in_progress", "finished_partial_completion")
FINISH_REASONS = {"stop": "stop", "max_tokens": "length"}


def is_chatgpt(doc: Any) -> bool:
    """A conversations.json (an array), or one conversation of it (an object with a mapping)."""
    return isinstance(doc, list) or (isinstance(doc, dict) and "mapping" in doc)


def parse_chatgpt(root: Field, limits: ImportLimits) -> list[ImportedChat]:
    conversations = [root] if isinstance(root.value, dict) else list(root.items())
    if len(conversations) > limits.max_chats:
        root.fail(
            f"{len(conversations)} conversations; at most {limits.max_chats} are imported at "
            "once: split the file"
        )
    return [_conversation(c, limits) for c in conversations]


def _conversation(f: Field, limits: ImportLimits) -> ImportedChat:
    f.obj()
    named = f.key("conversation_id")
    if named.missing:
        named = f.key("id")
    if named.missing:
        f.key("id").fail("required: the conversation's id (id or conversation_id)")
    created = f.key("create_time").epoch_seconds()
    if created is None:
        f.key("create_time").fail("required")
    nodes = _nodes(f.key("mapping"))
    shown = _shown_leaf(f, nodes)
    system, messages, anchors = _messages(_tree(f.key("mapping"), nodes), created, limits)
    current = anchors.get(shown) if shown is not None else None
    return ImportedChat(
        path=f.path,
        source_id=named.identifier(),
        title=f.key("title").text("", limits.max_title_chars).strip(),
        system_prompt=system,
        created_at=created,
        updated_at=f.key("update_time").epoch_seconds() or created,
        messages=messages,
        current_source_id=messages[current].source_id if current is not None else "",
    )


def _nodes(mapping: Field) -> dict[str, Field]:
    """The tree's nodes by id, each checked for its shape (message checked later, on the path)."""
    ids = mapping.obj()
    nodes = {}
    for node_id in ids:
        node = mapping.key(node_id)
        node.obj()
        parent = node.key("parent")
        if not parent.missing and parent.text() not in ids:
            parent.fail(f"{parent.value[:64]!r} is not a node of mapping")
        children = node.key("children")
        if not children.missing:
            for child in children.items():
                child.text()
        message = node.key("message")
        if not message.missing:
            message.obj()
        nodes[node_id] = node
    return nodes


def _shown_leaf(conversation: Field, nodes: dict[str, Field]) -> str | None:
    """The node the user last saw (else the newest leaf): the end of the branch shown."""
    current = conversation.key("current_node")
    if current.missing:
        return _newest_leaf(nodes)
    leaf = current.text()
    if leaf not in nodes:
        current.fail(f"{leaf[:64]!r} is not a node of mapping")
    return leaf


def _tree(mapping: Field, nodes: dict[str, Field]) -> list[tuple[str, Field, str | None]]:
    """Every node with its parent's id, parents before children (depth first from the root,
    children in their listed order): the order the messages are imported in."""
    children: dict[str | None, list[str]] = {}
    for node_id, node in nodes.items():
        children.setdefault(node.key("parent").value, []).append(node_id)
    for parent, kids in children.items():
        listed = nodes[parent].key("children").value if parent is not None else None
        order = {c: i for i, c in enumerate(listed)} if isinstance(listed, list) else {}
        kids.sort(key=lambda c: order.get(c, len(order)))
    if nodes and not children.get(None):
        mapping.fail("has no root (a node without a parent)")
    ordered: list[tuple[str, Field, str | None]] = []
    stack: list[tuple[str, str | None]] = [(r, None) for r in reversed(children.get(None, []))]
    while stack:
        node_id, parent = stack.pop()
        ordered.append((node_id, nodes[node_id], parent))
        stack.extend((c, node_id) for c in reversed(children.get(node_id, [])))
    if len(ordered) < len(nodes):  # what no root reaches hangs on a loop of parents
        mapping.fail("the parents form a cycle")
    return ordered


def _newest_leaf(nodes: dict[str, Field]) -> str | None:
    """Without a current node: from the root, the newest child (the last) at every fork."""
    roots = [node_id for node_id, node in nodes.items() if node.key("parent").missing]
    if not roots:
        return None
    node_id = roots[0]
    for _ in range(len(nodes)):  # at most every node once, whatever the children say
        children = [c for c in nodes[node_id].key("children").value or [] if c in nodes]
        if not children:
            break
        node_id = children[-1]
    return node_id


def _messages(
    tree: list[tuple[str, Field, str | None]], created: datetime, limits: ImportLimits
) -> tuple[str, list[ImportedMessage], dict[str, int | None]]:
    """The system prompt (the system messages before any other one), the messages (each under
    its nearest imported ancestor) and, for every node, the position of the message that stands
    for it (itself, or its nearest imported ancestor for a node that is skipped)."""
    system: list[str] = []
    messages: list[ImportedMessage] = []
    anchors: dict[str, int | None] = {}
    times: dict[str | None, datetime] = {None: created}
    for node_id, node, parent in tree:
        anchor, when = anchors.get(parent) if parent else None, times[parent]
        anchors[node_id], times[node_id] = anchor, when
        if node.key("message").missing:
            continue  # the root
        message = _message(node_id, node, when, limits)
        if message is None:
            continue
        times[node_id] = message.created_at  # one without a time takes its parent's
        if message.role is Role.SYSTEM and anchor is None:
            system.append(message.content)
            chars = len("\n\n".join(system))
            if chars > limits.max_system_prompt_chars:
                node.key("message").key("content").fail(
                    f"the system messages before the first message hold {chars} characters; "
                    f"a system prompt holds at most {limits.max_system_prompt_chars}"
                )
            continue
        messages.append(replace(message, parent_index=anchor))
        anchors[node_id] = len(messages) - 1
    return "\n\n".join(system), messages, anchors


def _message(
    node_id: str, node: Field, when: datetime, limits: ImportLimits
) -> ImportedMessage | None:
    """The node's message; None when it is not imported (a tool's, hidden, not text, empty)."""
    m = node.key("message")
    author = m.key("author")
    author.obj()
    role = author.key("role").text()
    if role not in ROLES and role not in SKIPPED_ROLES:
        author.key("role").fail(f"{role[:32]!r} is not user, assistant, system or tool")
    content = m.key("content")
    content.obj()
    kind = content.key("content_type").text()
    metadata = m.key("metadata")
    if not metadata.missing:
        metadata.obj()
    hidden = metadata.key("is_visually_hidden_from_conversation").value is True
    if role in SKIPPED_ROLES or kind not in TEXT_TYPES or hidden:
        return None
    text = _text(content.key("parts"))
    if not text.strip():
        return None
    if len(text) > limits.max_message_chars:
        content.key("parts").fail(
            f"{len(text)} characters; the limit is {limits.max_message_chars}"
        )
    status = m.key("status").text("")
    created = m.key("create_time").epoch_seconds() or when
    finish = metadata.key("finish_details")
    finish_type = finish.key("type").value if isinstance(finish.value, dict) else None
    return ImportedMessage(
        source_id=node_id,
        role=ROLES[role],
        content=text,
        status=MessageStatus.INTERRUPTED if status in INTERRUPTED else MessageStatus.COMPLETE,
        created_at=created,
        updated_at=max(m.key("update_time").epoch_seconds() or created, created),
        model=metadata.key("model_slug").text("", MAX_MODEL_CHARS),
        finish_reason=FINISH_REASONS.get(str(finish_type), ""),
    )


def _text(parts: Field) -> str:
    """The text parts, one per line; other parts (images, files) are left out."""
    texts = []
    for part in parts.items():
        if isinstance(part.value, str):
            texts.append(part.value)
        elif not isinstance(part.value, dict):
            part.fail("must be a string (text) or an object (an image or a file)")
    return "\n".join(texts)
