"""Header (gRPC metadata) names that more than one component reads or writes, in one place."""

# The user id Envoy sets from the verified token's `sub` (it strips any client-sent copy); the
# chat service believes it only in identity mode "header" (docs/security.md).
USER_ID = "x-chatstack-user"
# Set by the chat service on inference calls: Envoy's inference cluster hashes on it (chat
# affinity: a chat's turns reach the replica whose prefix cache holds its history).
CHAT_ID = "x-chat-id"
# Set by the chat service on inference calls (its user's id): the inference service's fair
# queue serves the key with the fewest requests running first.
FAIRNESS_KEY = "x-fairness-key"
# Seconds to wait before retrying, on RESOURCE_EXHAUSTED and UNAVAILABLE (and HTTP 429/503).
RETRY_AFTER = "retry-after"
# What an API key's bearer value starts with (`Authorization: Bearer sk-cs-...`): Envoy sends
# only such requests to the key check, and skips JWT verification for them.
API_KEY_PREFIX = "sk-cs-"
# On an OpenAI-compatible reply: "hit" when it came from the answer cache, else "miss".
CACHE_STATUS = "x-chatstack-cache"
# On an OpenAI-compatible request: the caller's chat that the turn is stored in (optional).
OPENAI_CHAT_ID = "x-chatstack-chat-id"
