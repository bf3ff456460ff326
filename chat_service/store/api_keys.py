"""What the store keeps of the users' API keys (the OpenAI-compatible API authenticates with them).

Only a hash of each secret is kept: the secret is shown to the user once, at creation, and a
request's key is found by hashing what it presents. The key id is public (the user lists and
deletes keys by it); the hint is what a UI may show of the secret (its prefix and last chars).

Like the rest of the store, listing and deleting are scoped by user id: another user's key id
is "no such key". Looking up by hash is not (it is how a request finds its user).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ApiKeyRecord:
    user_id: str
    key_id: str  # public id, a chat_service.ids.new_id() string (time-ordered)
    name: str  # the user's label, may be ""
    key_hash: str  # hex SHA-256 of the secret; the secret itself is never stored
    hint: str  # what the UI shows, e.g. "sk-cs-…Ab3d"
    created_at: datetime  # UTC, millisecond precision (domain.utcnow())


class ApiKeyStore(ABC):
    @abstractmethod
    async def create_api_key(self, key: ApiKeyRecord) -> None:
        """Stores a new key. An upsert: writing the same record again changes nothing."""

    @abstractmethod
    async def api_keys_of(self, user_id: str) -> list[ApiKeyRecord]:
        """The user's keys, newest first (by key id)."""

    @abstractmethod
    async def api_key_by_hash(self, key_hash: str) -> ApiKeyRecord | None:
        """The key whose secret hashes to `key_hash`, of whichever user; None if none."""

    @abstractmethod
    async def delete_api_key(self, user_id: str, key_id: str) -> bool:
        """Deletes the user's key; False if the user has no such key (a malformed id, or the
        id of another user's key, included)."""
