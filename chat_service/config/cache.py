"""The semantic answer cache (docs/answer-cache.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from chat_service.cache.verify import DEFAULT_THRESHOLD


class CacheSettings(BaseModel):
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
