import os

pytest_plugins = [
    "tests.fixtures.cassandra_node",
    "tests.fixtures.services",
    "tests.fixtures.stack",
    "tests.fixtures.replicas",
    "tests.fixtures.web",
    "tests.fixtures.nats",
]

# The chat services the tests start believe the identity metadata (identity mode "header"):
# most tests call them directly, as the gateway would. The token check of the default "jwt"
# mode has tests of its own (tests/chat/test_jwt_identity.py, tests/security/).
os.environ.setdefault("CHAT_IDENTITY", "header")
