"""A three-node Cassandra 5.0 cluster on one machine, from the same Maven jars and script as the
lone test node (scripts/cassandra.sh): one node per loopback address (127.0.0.1, .2, .3) on the
same two ports, every node a seed, tokens spread evenly over the Murmur3 ring. Nodes can be
killed (SIGKILL) and started again in place; the others keep hints for the writes it misses
(docs/cluster.md). Used by the chaos test and bench/chaos_run.py."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_stack.launch.cassandra import START_ATTEMPTS, CassandraNode, free_loopback_ports

ADDRESSES = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
PROBE_KEYSPACE = "cluster_probe"
READY_TIMEOUT_S = 120.0


def ring_tokens(count: int) -> list[int]:
    """Evenly spaced initial tokens on the Murmur3 ring [-2**63, 2**63)."""
    return [-(2**63) + i * (2**64 // count) for i in range(count)]


@dataclass
class CassandraCluster:
    nodes: list[CassandraNode]

    @property
    def port(self) -> int:
        return self.nodes[0].cql_port

    @property
    def contact_points(self) -> str:
        """Comma-separated addresses, as the chat service's ``--cassandra-contact-points``."""
        return ",".join(node.host for node in self.nodes)

    def stop(self) -> None:
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            list(pool.map(lambda node: node.stop(), self.nodes))

    def wait_all_up(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Until a write at consistency ALL succeeds: every node is up and sees the others."""
        deadline = time.monotonic() + timeout_s
        with self.session() as session:
            while True:
                try:
                    session.execute(_all(f"INSERT INTO {PROBE_KEYSPACE}.t (k) VALUES (1)"))
                    return
                except Exception as exc:  # Unavailable, a timeout, an unknown table yet
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"not every node is up: {exc!r}") from exc
                    time.sleep(0.5)

    def create_probe_table(self) -> None:
        with self.session() as session:
            replication = f"{{'class': 'SimpleStrategy', 'replication_factor': {len(self.nodes)}}}"
            session.execute(
                f"CREATE KEYSPACE IF NOT EXISTS {PROBE_KEYSPACE} WITH replication = {replication}"
            )
            session.execute(f"CREATE TABLE IF NOT EXISTS {PROBE_KEYSPACE}.t (k int PRIMARY KEY)")

    @contextlib.contextmanager
    def session(self, only: CassandraNode | None = None) -> Iterator[Any]:
        """A driver session on every node (or on ``only``), closed on exit."""
        from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
        from cassandra.policies import WhiteListRoundRobinPolicy

        hosts = [only.host] if only else [node.host for node in self.nodes]
        logging.getLogger("cassandra").setLevel(logging.ERROR)
        profile = ExecutionProfile(
            load_balancing_policy=WhiteListRoundRobinPolicy(hosts), request_timeout=30
        )
        cluster = Cluster(
            hosts,
            port=self.port,
            connect_timeout=10,
            execution_profiles={EXEC_PROFILE_DEFAULT: profile},
            protocol_version=5,
        )
        try:
            yield cluster.connect()
        finally:
            cluster.shutdown()


def _all(cql: str) -> Any:
    from cassandra import ConsistencyLevel
    from cassandra.query import SimpleStatement

    return SimpleStatement(cql, consistency_level=ConsistencyLevel.ALL)


def launch_cluster(base_dir: Path, size: int = 3) -> CassandraCluster:
    """Start ``size`` nodes at once (each in ``base_dir/node<i>``) and wait until all are up."""
    output = ""
    for _ in range(START_ATTEMPTS):
        cql_port, storage_port = free_loopback_ports(2, also_on=ADDRESSES[1:size])
        seeds = ",".join(f"{address}:{storage_port}" for address in ADDRESSES[:size])
        nodes = [
            CassandraNode(base_dir / f"node{i + 1}", cql_port, storage_port, address, seeds, token)
            for i, (address, token) in enumerate(zip(ADDRESSES, ring_tokens(size), strict=False))
        ]
        with ThreadPoolExecutor(size) as pool:
            results = list(pool.map(lambda node: node.launch(), nodes))
        cluster = CassandraCluster(nodes)
        if all(result.returncode == 0 for result in results):
            try:
                cluster.create_probe_table()
                cluster.wait_all_up()
            except BaseException:
                cluster.stop()
                raise
            return cluster
        cluster.stop()
        output = "\n".join(result.stdout for result in results if result.returncode != 0)
        if "already in use" not in output:
            break
    raise RuntimeError(f"the Cassandra cluster did not start in {base_dir}:\n{output}")


def main() -> None:
    """``python -m local_stack.launch.cassandra_cluster DIR``: a cluster to try the chat
    service on, until Ctrl-C (the nodes stop with this process)."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(description="a three-node Cassandra cluster on loopback")
    parser.add_argument("dir", type=Path, help="where the nodes keep their data and logs")
    args = parser.parse_args()
    cluster = launch_cluster(args.dir.resolve())
    try:
        print(
            "chat service flags: --store cassandra"
            f" --cassandra-contact-points {cluster.contact_points}"
            f" --cassandra-port {cluster.port} --cassandra-local-dc datacenter1"
            " --cassandra-replication \"{'class': 'NetworkTopologyStrategy', 'datacenter1': 3}\"",
            flush=True,
        )
        stop = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, stop)  # delivered to sigwait, not raised
        signal.sigwait(stop)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
