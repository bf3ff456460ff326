"""Chat service settings: flags or env (CHAT_...), one flat set for operators, declared in
groups, one per component. Each component is given (and typed with) its own group only; the
service's composition root (__main__.py, service.py) holds the whole ChatSettings."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from chat_service.config.cache import CacheSettings
from chat_service.config.conversation import ConversationSettings
from chat_service.config.identity import IdentitySettings
from chat_service.config.openai import OpenAiSettings
from chat_service.config.queue import QueueSettings
from chat_service.config.store import StoreSettings
from chat_service.config.turns import TurnSettings
from chat_service.config.upstream import UpstreamSettings
from server_kit.config import ServerSettings

__all__ = [
    "CacheSettings",
    "ChatSettings",
    "ConversationSettings",
    "IdentitySettings",
    "OpenAiSettings",
    "QueueSettings",
    "StoreSettings",
    "TurnSettings",
    "UpstreamSettings",
]


# Listed last to first: pydantic gathers fields from the far end of the MRO, so the flags keep
# the order they had (server, identity, store, ...); the groups (plain models) add no config.
class ChatSettings(
    OpenAiSettings,
    QueueSettings,
    TurnSettings,
    CacheSettings,
    ConversationSettings,
    UpstreamSettings,
    StoreSettings,
    IdentitySettings,
    ServerSettings,
):
    model_config = SettingsConfigDict(env_prefix="CHAT_", cli_prog_name="chat_service")
