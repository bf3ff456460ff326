pytest_plugins = [
    "tests.fixtures.cassandra_node",
    "tests.fixtures.services",
    "tests.fixtures.stack",
    "tests.fixtures.replicas",
    "tests.fixtures.web",
    "tests.fixtures.nats",
]
