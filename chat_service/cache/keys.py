"""What a cached answer is keyed on besides the question's meaning (docs/answer-cache.md): who
may see it (scope), what produced it (model, system prompt, sampling) and the conversation it
answered (context). All of these must match exactly; only the question itself is matched by
similarity.

Every value that goes into a Milvus filter expression is a hex digest, a UUID or an escaped
literal, so no user input can change an expression.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence

from chat_service.cache.normalize import normalize_question
from chat_service.domain import Role, Sampling

GLOBAL_SCOPE = "*global*"
DIGEST_CHARS = 32  # 128 bits of SHA-256: collisions are not a practical concern

# Words that point back into the conversation: a question using them may mean something else
# in another chat. Over-inclusive on purpose ("a word that means happy" is treated as a
# follow-up): a false "follow-up" only costs a possible hit, a false "standalone" can serve a
# wrong answer.
_ANAPHORA = frozenset((
    "it", "its", "it's", "itself", "that", "this", "these", "those", "they", "them", "their",
    "theirs", "there", "here", "he", "she", "him", "her", "his", "hers", "above", "previous",
    "earlier", "former", "latter", "same", "again", "else", "one", "ones",
))  # fmt: skip
_FOLLOW_UP_OPENERS = (
    "and", "also", "but", "or", "so", "then", "what about", "how about", "why not",
    "what else", "more", "now", "ok", "okay",
)  # fmt: skip
MIN_STANDALONE_WORDS = 4  # "In French?", "Why?", "Shorter please" need the conversation
_WORD_RE = re.compile(r"[\w']+")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_CHARS]


def owner_of(user_id: str) -> str:
    """The user as stored in the cache: a digest, so no raw user id sits in the vector store."""
    return "user:" + digest(user_id)


def scope_of(user_id: str, scope: str) -> str:
    return GLOBAL_SCOPE if scope == "global" else owner_of(user_id)


def system_hash(system_prompt: str) -> str:
    return digest(system_prompt)


def sampling_fingerprint(sampling: Sampling, max_tokens: int) -> str:
    """Unset and explicitly-default values differ here: a conservative miss, never a wrong hit.
    max_tokens is part of it because a reply to a shorter budget would have been cut."""
    fields = {
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "seed": sampling.seed,
        "max_tokens": max_tokens,
    }
    return digest(json.dumps(fields, sort_keys=True))


def context_fingerprint(messages: Sequence[tuple[Role, str]]) -> str:
    """The preceding messages (oldest first), normalized; "" for no context (a first question,
    or one judged standalone)."""
    if not messages:
        return ""
    parts = [
        f"{role.value}\x1f"
        + (normalize_question(text) if role is Role.USER else " ".join(text.split()))
        for role, text in messages
    ]
    return digest("\x1e".join(parts))


def is_self_contained(normalized_question: str) -> bool:
    """A conservative guess that a question means the same in any conversation."""
    words = _WORD_RE.findall(normalized_question)
    if len(words) < MIN_STANDALONE_WORDS:
        return False
    opening = " ".join(words[:2])
    if any(opening == o or opening.startswith(o + " ") for o in _FOLLOW_UP_OPENERS):
        return False
    return not any(w in _ANAPHORA for w in words)


def literal(value: str) -> str:
    """A Milvus string literal (for values we do not control the shape of, e.g. model ids)."""
    if any(ord(c) < 0x20 for c in value):
        raise ValueError("control characters in a filter value")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
