"""Benchmarks: each module runs with `python -m bench.<module>`, prints a table and writes
its figures to bench/results/<name>.json. They measure; they never assert on timings."""

import os

# The chat services the benchmarks start believe the identity metadata (identity mode
# "header"): several benchmarks call them directly, as the gateway would. Verifying a token
# costs one RS256 signature check per request (tests/chat/test_jwt_identity.py checks it).
os.environ.setdefault("CHAT_IDENTITY", "header")
