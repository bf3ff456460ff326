"""Starting the parts of the system as processes on this machine: Envoy, NATS, Milvus Lite,
a Cassandra node, and reading a service's Prometheus metrics. One library for `make run`
(local_stack), the test fixtures (tests/fixtures/) and the benchmarks (bench/); service
processes themselves start through server_kit/processes.py."""
