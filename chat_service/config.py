"""Chat service settings: flags or env (CHAT_...)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from chat_service.domain import HistoryPolicy
from server_kit.config import ServerSettings


class ChatSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="CHAT_", cli_prog_name="chat_service")

    # identity
    user_header: str = Field(
        "x-chatstack-user",
        description="metadata key holding the authenticated user id. The gateway sets it from "
        "the verified JWT and strips any client-sent copy: expose this service only via Envoy",
    )
    # history store
    store: Literal["sqlite", "cassandra"] = "sqlite"
    sqlite_path: str = Field(".run/chat.db", description="SQLite database file")
    cassandra_contact_points: str = Field("127.0.0.1", description="comma-separated hosts")
    cassandra_port: int = 9042
    cassandra_keyspace: str = "chatstack"
    cassandra_replication: str = Field(
        "{'class': 'SimpleStrategy', 'replication_factor': 1}",
        description="keyspace replication map (CQL); use NetworkTopologyStrategy in production",
    )
    cassandra_consistency: str = Field("LOCAL_QUORUM", description="consistency level")
    cassandra_local_dc: str = ""
    cassandra_username: str = ""
    cassandra_password: str = ""
    store_timeout_s: float = Field(5.0, gt=0, description="deadline of every store call")
    # upstream services
    inference_address: str = "127.0.0.1:50052"
    inference_timeout_s: float = Field(
        600.0, gt=0, description="deadline of a whole generation stream"
    )
    inference_first_token_timeout_s: float = Field(
        120.0, gt=0, description="deadline for the first token (queueing + prompt processing)"
    )
    count_tokens_timeout_s: float = Field(10.0, gt=0)
    # conversations
    default_system_prompt: str = "You are a helpful assistant."
    default_history_policy: HistoryPolicy = HistoryPolicy.WINDOW
    reserved_output_tokens: int = Field(
        512, ge=16, description="window budget = the model's context minus this"
    )
    default_max_tokens: int = Field(512, ge=1, description="reply length when unset")
    max_message_chars: int = Field(32_000, ge=1, description="longest accepted user message")
    max_system_prompt_chars: int = Field(8_000, ge=0)
    max_title_chars: int = Field(200, ge=1)
    # summary policy
    summary_trigger_ratio: float = Field(
        0.75,
        gt=0,
        le=1,
        description="summarize older turns once the history reaches this share of the budget",
    )
    summary_keep_recent_messages: int = Field(
        6, ge=0, description="newest messages never folded into a summary"
    )
    summary_max_tokens: int = Field(256, ge=16, description="length cap of a summary")
