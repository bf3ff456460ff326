pytest_plugins = [
    "tests.fixtures.cassandra_node",
    "tests.fixtures.services",
    "tests.fixtures.stack",
]
