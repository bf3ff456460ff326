"""What a file to import holds once read and validated (whatever its format), and the limits it
is validated against."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from chat_service.config import ConversationSettings
from chat_service.domain import ChatOptions, MessageStatus, Role

# The most chats one file may import, and messages in all of them together: an import is one
# request, written while the caller waits.
MAX_CHATS = 1000
MAX_MESSAGES = 100_000
MAX_MODEL_CHARS = 200  # as the API's ChatSettings.model
PREVIOUS = -1  # ImportedMessage.parent_index of a linear source: the message before it


@dataclass(frozen=True)
class ImportLimits:
    max_message_chars: int
    max_title_chars: int
    max_system_prompt_chars: int
    max_chats: int = MAX_CHATS
    max_messages: int = MAX_MESSAGES

    @classmethod
    def from_settings(cls, settings: ConversationSettings) -> ImportLimits:
        return cls(
            max_message_chars=settings.max_message_chars,
            max_title_chars=settings.max_title_chars,
            max_system_prompt_chars=settings.max_system_prompt_chars,
        )


@dataclass(frozen=True)
class ImportedMessage:
    source_id: str  # its id in the file: with the chat's, what the stored id derives from
    role: Role
    content: str
    status: MessageStatus  # complete, interrupted or failed (never pending or queued)
    created_at: datetime
    updated_at: datetime  # when it was last written (a reply: when it ended)
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = ""  # "stop" | "length" | ""
    error: str = ""
    # Its parent's position in the chat's messages (always an earlier one); None: a first
    # message; PREVIOUS: the message before it (a linear source, such as ChatGPT's path).
    parent_index: int | None = PREVIOUS


@dataclass(frozen=True)
class ImportedChat:
    path: str  # where the chat is in the file ("chats[2]", "[0]"): for errors
    source_id: str  # the chat's (conversation's) id in the file
    title: str
    system_prompt: str
    created_at: datetime
    updated_at: datetime
    messages: list[ImportedMessage]
    settings: ChatOptions = field(default_factory=ChatOptions)
    current_source_id: str = ""  # the branch shown (its last message); "": the newest message

    def is_linear(self) -> bool:
        """Each message follows the one before it (what chats without branches are)."""
        return all(
            m.parent_index in (PREVIOUS, i - 1 if i else None) for i, m in enumerate(self.messages)
        )


@dataclass(frozen=True)
class ParsedFile:
    format: str  # "chatstack" | "chatgpt" (ImportChatsResponse.format)
    chats: list[ImportedChat]
