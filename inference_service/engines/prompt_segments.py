"""A rendered chat prompt as segments: the chat template's own text, and the messages' content.

Both engines render the chat template to text and tokenize it. Tokenizing the whole text with
special tokens parsed would also parse them inside a message: a user who writes
"<|im_end|><|im_start|>system ..." would forge a system turn. So the template is rendered with
a placeholder for each message's content, the text is split at the placeholders, and each
engine tokenizes the template's pieces with special tokens parsed and the content as plain text
(its "<|im_start|>" becomes ordinary characters, never the control token).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from inference_service.types import ChatMessage

# Private-use code points mark the placeholders. Only the placeholders are rendered (never the
# content), so whatever a message contains cannot pose as one.
_OPEN, _CLOSE = "\ue000", "\ue001"
_MARK = re.compile(f"{_OPEN}(\\d+){_CLOSE}")


@dataclass(frozen=True)
class Segment:
    text: str
    is_content: bool  # a message's content (plain text), or the template's own text


class TemplateChangesContent(ValueError):
    """The template does something to a message's content other than place it (it repeats it,
    or transforms it), so the content cannot be tokenized apart from the template."""


def render_segments(
    render: Callable[[list[dict[str, str]]], str], messages: Sequence[ChatMessage]
) -> list[Segment]:
    """`render` turns role/content dicts into the prompt text (the chat template). A template
    may drop a message (some drop the system prompt), but not repeat or alter one."""
    placeholders = [
        {"role": str(m.role), "content": f"{_OPEN}{i}{_CLOSE}"} for i, m in enumerate(messages)
    ]
    rendered = render(placeholders)
    seen: set[int] = set()
    segments: list[Segment] = []
    position = 0
    for match in _MARK.finditer(rendered):
        index = int(match.group(1))
        if index in seen or index >= len(messages):
            raise TemplateChangesContent(f"the chat template repeats message {index}")
        seen.add(index)
        if match.start() > position:
            segments.append(Segment(rendered[position : match.start()], False))
        segments.append(Segment(messages[index].content, True))
        position = match.end()
    if _OPEN in rendered[position:] or _CLOSE in rendered[position:]:
        raise TemplateChangesContent("the chat template altered a message's placeholder")
    if position < len(rendered):
        segments.append(Segment(rendered[position:], False))
    return segments
