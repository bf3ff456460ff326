"""Chat service settings: flags or env (CHAT_...)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from chat_service.cache.verify import DEFAULT_THRESHOLD
from chat_service.domain import HistoryPolicy
from server_kit import headers
from server_kit.config import ServerSettings


class ChatSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="CHAT_", cli_prog_name="chat_service")

    @model_validator(mode="after")
    def _check_identity(self) -> ChatSettings:
        if self.identity == "jwt" and bool(self.jwks_file) == bool(self.jwks_uri):
            raise ValueError(
                "identity 'jwt' needs the identity provider's keys: set exactly one of "
                "jwks_file and jwks_uri (or identity 'header' for a service only tests reach)"
            )
        if self.jwks_uri and not self.jwks_uri.startswith("https://"):
            raise ValueError("jwks_uri must be an https URL")
        return self

    # identity (docs/security.md)
    identity: Literal["jwt", "header"] = Field(
        "jwt",
        description="jwt: the user is the `sub` of the bearer token the gateway forwards, "
        "verified here against jwks_file or jwks_uri. header: the user_header metadata is "
        "believed from any caller (tests, tools talking to one service; never a deployment)",
    )
    jwks_file: str = Field("", description="jwt: the identity provider's JWKS, a local file")
    jwks_uri: str = Field("", description="jwt: the identity provider's JWKS URL (https)")
    jwt_issuer: str = Field("chatstack-local", description="jwt: the `iss` tokens must carry")
    jwt_audiences: str = Field("chatstack", description="jwt: accepted `aud`, comma-separated")
    jwt_max_lifetime_s: float = Field(
        86_400.0, gt=0, description="jwt: the longest token lifetime accepted (exp - iat)"
    )
    user_header: str = Field(
        headers.USER_ID,
        description="header mode: metadata key holding the user id (the gateway sets it from "
        "the verified JWT and strips any client-sent copy)",
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
    cassandra_tls_ca_file: str = Field(
        "",
        description="CA certificates that sign the nodes' (PEM): connect with TLS and verify "
        "them. Empty: plaintext",
    )
    cassandra_tls_verify_hostname: bool = Field(
        True, description="with TLS: the node's certificate must name the address dialled"
    )
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
    inference_busy_window_s: float = Field(
        0.25,
        ge=0,
        description="after the model refuses a user's turn (queue full), that user's new turns "
        "are refused at once (429, no store writes) for this long; other users still ask the "
        "model; 0: always ask the model",
    )
    service_token_file: str = Field(
        "",
        description="a file holding the token the inference and embedding services ask their "
        "callers for (their caller_token_file); sent with every call to them. Empty: none",
    )
    embedding_address: str = Field(
        "127.0.0.1:50053", description="the embedding service (questions for the answer cache)"
    )
    embedding_timeout_s: float = Field(
        2.0, gt=0, description="deadline of an Embed call (a lookup's own deadline still caps it)"
    )
    log_content: bool = Field(
        False,
        description="DEBUG ONLY - PRIVACY: also log the text of each turn's question and answer. "
        "Off, a turn's log line carries ids, outcome, token counts and durations, never content",
    )
    # conversations
    default_system_prompt: str = "You are a helpful assistant."
    default_history_policy: HistoryPolicy = HistoryPolicy.WINDOW
    reserved_output_tokens: int = Field(
        512, ge=16, description="window budget = the model's context minus this"
    )
    window_step_tokens: int = Field(
        256,
        ge=0,
        description="window/summary: once history is left out, the window's first message "
        "moves about every this many tokens instead of every turn, so the prompt's prefix stays "
        "the same for several turns (an engine's prefix cache reuses it); up to twice this is "
        "left unused. 0: the exact window, which moves every turn",
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
    # semantic answer cache (docs/answer-cache.md)
    cache_enabled: bool = Field(
        True, description="reuse stored answers to the same question (a miss or error: generate)"
    )
    cache_uri: str = Field(
        ".run/cache.db",
        description="Milvus: a local file path = Milvus Lite in process (one process per file); "
        "http://host:19530 = a Milvus server (several chat replicas); https:// = over TLS",
    )
    cache_user: str = Field(
        "", description="Milvus user (with cache_password), when the server has auth on"
    )
    cache_password: str = Field("", description="its password (from a secret: CHAT_CACHE_PASSWORD)")
    cache_tls_ca_file: str = Field(
        "",
        description="CA certificates that sign the Milvus server's (https:// URIs); empty: the "
        "system's",
    )
    cache_scope: Literal["user", "global"] = Field(
        "user",
        description="user: a user is only served answers cached from their own chats. global: "
        "answers are shared by all users. PRIVACY RISK: another user's answer text (and, by "
        "timing, the fact that someone asked) can be served; only for public, shared content",
    )
    cache_threshold: float = Field(
        DEFAULT_THRESHOLD,
        gt=0,
        le=1,
        description="minimum cosine similarity of the normalized questions (all-MiniLM-L6-v2) "
        "for a hit, before the verifier (cache_verify). No threshold alone is precise: "
        "near-misses score like paraphrases. The default is chosen with the verifier's own "
        "constants on the dev split of bench/cache_eval (most hits at >= 97% dev precision); "
        "raise it substantially if verification is off",
    )
    cache_verify: bool = Field(
        True,
        description="second check of a candidate above the threshold (cache/verify.py): the two "
        "questions must agree on numbers, units, negation, the kind of question and the "
        "direction of its arguments, and their content words must match (docs/answer-cache.md)",
    )
    cache_ttl_s: float = Field(
        7 * 24 * 3600.0, gt=0, description="age after which a cached answer is no longer served"
    )
    cache_max_entries: int = Field(
        100_000, ge=1, description="size bound: the oldest entries are evicted in the background"
    )
    cache_lookup_timeout_s: float = Field(
        0.25,
        gt=0,
        description="deadline of a whole lookup (history read, embedding, search); past it the "
        "turn goes to the model",
    )
    # turn lifecycle
    turn_lease_s: float = Field(
        10.0,
        gt=0,
        description="a running turn re-saves its pending reply (with the text so far) this often, "
        "so other replicas can tell it from a turn whose server died",
    )
    abandoned_turn_s: float = Field(
        30.0,
        gt=0,
        description="a pending reply not re-saved for this long is abandoned (its server died): "
        "shown as interrupted, and a retry of its client_request_id regenerates it. Keep it a "
        "few times turn_lease_s",
    )
    final_save_retry_s: float = Field(
        120.0,
        ge=0,
        description="how long the record of how a turn ended is retried in the background while "
        "the history store is unavailable (so the turn is not left pending)",
    )
    # per-user fair sharing (chat_service/admission.py): counted in the shared store, so each
    # limit holds across chat replicas. 0 turns a limit off.
    user_max_streams: int = Field(
        4, ge=0, description="streamed turns one user may have generating at once"
    )
    user_max_queued_turns: int = Field(
        8, ge=0, description="submitted turns one user may have waiting or running"
    )
    user_turns_per_minute: int = Field(
        30, ge=0, description="turns (streamed and submitted) one user may start per minute"
    )
    user_daily_tokens: int = Field(
        0,
        ge=0,
        description="tokens (prompt + completion of generated answers) one user may spend per "
        "UTC day; past it, new turns get 429 until midnight UTC. 0: no budget (and no count)",
    )
    queued_turn_slot_s: float = Field(
        900.0,
        gt=0,
        description="a submitted turn stops counting against its user's queue limit after this "
        "long even if no replica recorded its end (a replica died)",
    )
    # asynchronous completions (SubmitCompletion / GetTurn / StreamTurn)
    async_turn_concurrency: int = Field(
        2, ge=1, description="submitted turns one replica generates at a time"
    )
    async_progress_s: float = Field(
        0.5, gt=0, description="a submitted turn saves its reply so far this often (StreamTurn)"
    )
    stream_turn_poll_s: float = Field(
        0.25, gt=0, description="how often StreamTurn reads the stored reply"
    )
    stream_turn_keepalive_s: float = Field(
        30.0,
        gt=0,
        description="StreamTurn sends an empty delta after this long without news (a turn "
        "waiting in the queue), so idle timeouts on the way (Envoy's: 120 s) keep it open",
    )
    async_busy_wait_s: float = Field(
        120.0,
        gt=0,
        description="a submitted turn refused by a saturated model is retried (backing off) for "
        "this long before it is marked failed",
    )
    # message queue (NATS JetStream) for work off the request path: summaries, cache writes,
    # cache invalidation (chat_service/jobs/)
    queue_url: str = Field(
        "",
        description="NATS server URL, e.g. nats://127.0.0.1:4222 (JetStream enabled). Empty: no "
        "queue, that work runs as in-process tasks (lost if the process stops)",
    )
    queue_user: str = Field(
        "", description="NATS user of the chat service (with queue_password); empty: none"
    )
    queue_password: str = Field("", description="its password (from a secret: CHAT_QUEUE_PASSWORD)")
    queue_tls_ca_file: str = Field(
        "",
        description="CA certificates that sign the NATS server's (tls:// URLs); empty: the "
        "system's",
    )
    queue_publish_timeout_s: float = Field(
        1.0,
        gt=0,
        description="deadline of a publish; past it (or with the queue down) the job runs in "
        "process instead, so the queue never fails a turn",
    )
    queue_connect_timeout_s: float = Field(
        2.0, gt=0, description="deadline of a connection attempt (retried in the background)"
    )
    queue_max_deliver: int = Field(
        5, ge=1, description="attempts of a failing job before it goes to the dead-letter stream"
    )
    queue_retry_delay_s: float = Field(
        1.0, gt=0, description="delay before a failed job's first retry (doubling, at most 60 s)"
    )
