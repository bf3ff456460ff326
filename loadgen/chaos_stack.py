"""The stack of a chaos run, all real processes on loopback: a three-node Cassandra cluster
(keyspace NetworkTopologyStrategy, three replicas, LOCAL_QUORUM), a three-server NATS
JetStream cluster (streams with three replicas), Milvus Lite and the embedding service for the
answer cache, two inference replicas (llama.cpp, SmolLM2), two chat replicas, and Envoy: its
public listener over the chat replicas, its internal one over inference and embedding. One
Cassandra node, one NATS server, one chat replica and one inference replica are the faults of
the run (loadgen/chaos.py). Shared by tests/chaos and bench/chaos_run.py."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from chat_service.jobs.queue import STREAM as JOBS_STREAM
from gateway.config import GatewaySettings
from gateway.jwt_keys import init_keys, mint_token
from loadgen.chaos import Fault
from loadgen.config import Target
from local_stack.auth import chat_identity_args
from local_stack.launch.cassandra_cluster import CassandraCluster, launch_cluster
from local_stack.launch.envoy import start_envoy
from local_stack.launch.milvus import start_milvus_lite_server
from local_stack.launch.nats import NatsCluster
from server_kit.processes import ManagedProcess, free_port, service_process, start_service

DATA_CENTER = "datacenter1"  # SimpleSnitch's, the test cluster's only data center
REPLICATION = f"{{'class': 'NetworkTopologyStrategy', '{DATA_CENTER}': 3}}"
LEASE = ["--turn-lease-s", "1", "--abandoned-turn-s", "3"]  # a dead replica's turns settle fast
SERVICE_START_S = 180.0


@dataclass
class ChaosStack:
    work: Path
    cassandra: CassandraCluster
    nats: NatsCluster
    chat: list[ManagedProcess]
    chat_metrics: list[str]  # each chat replica's /metrics URL
    inference: list[ManagedProcess]
    others: dict[str, ManagedProcess]  # milvus, embedding, envoy (their memory is sampled too)
    settings: GatewaySettings

    def target(self, users: int) -> Target:
        names = [f"chaos-{i:02d}" for i in range(users)]
        processes = {f"chat-{i}": p for i, p in enumerate(self.chat)}
        processes |= {f"inference-{i}": p for i, p in enumerate(self.inference)} | self.others
        return Target(
            host="127.0.0.1",
            port=self.settings.listen_port,
            tokens={u: mint_token(self.settings.keys_dir, u, ttl_s=3 * 3600) for u in names},
            processes={n: p.proc.pid for n, p in processes.items() if p.proc is not None},
        )

    def faults(self, down_s: float, on_chat_kill: Callable[[], None]) -> list[Fault]:
        """One Cassandra node, one NATS server, then one chat and one inference replica (the
        second of each). ``on_chat_kill`` runs right before the chat replica dies (its
        counters are read then)."""
        node = self.cassandra.nodes[-1]

        def restart_node() -> None:
            node.start()
            self.cassandra.wait_all_up()

        def kill_chat() -> None:
            on_chat_kill()
            _kill(self.chat[1])

        nats, killed = self.nats, [0]

        def kill_nats() -> None:  # the server leading the side jobs' stream: an election
            killed[0] = max(0, nats.stream_leader(JOBS_STREAM))
            nats.kill(killed[0])

        return [
            Fault(f"cassandra node {node.host}", node.kill, restart_node, down_s, False),
            Fault(
                f"nats server leading {JOBS_STREAM}",
                kill_nats,
                lambda: nats.restart(killed[0]),
                down_s,
                False,
            ),
            Fault("chat replica 1", kill_chat, lambda: _restart(self.chat[1]), down_s, True),
            Fault(
                "inference replica 1",
                lambda: _kill(self.inference[1]),
                lambda: _restart(self.inference[1]),
                down_s,
                True,
            ),
        ]


def _kill(process: ManagedProcess) -> None:
    process.signal(signal.SIGKILL)
    if process.proc is not None:
        process.proc.wait(timeout=10)


def _restart(process: ManagedProcess) -> None:
    process.stop()  # closes the killed process's log
    process.start()
    process.wait_ready(SERVICE_START_S)


def _stop_all(clusters: list[CassandraCluster]) -> None:
    for cluster in clusters:
        cluster.stop()


def _chat_args(
    cassandra: CassandraCluster, nats: NatsCluster, internal: str, milvus: int
) -> list[str]:
    return [
        "--store", "cassandra",
        "--cassandra-contact-points", cassandra.contact_points,
        "--cassandra-port", str(cassandra.port),
        "--cassandra-replication", REPLICATION,
        "--cassandra-consistency", "LOCAL_QUORUM",
        "--cassandra-local-dc", DATA_CENTER,
        "--queue-url", nats.url, "--queue-stream-replicas", "3",
        "--inference-address", internal, "--embedding-address", internal,
        "--cache-uri", f"http://127.0.0.1:{milvus}", "--cache-lookup-timeout-s", "3",
        *LEASE,
    ]  # fmt: skip


@contextlib.asynccontextmanager
async def chaos_stack(work: Path) -> AsyncIterator[ChaosStack]:
    """Starts everything (the clusters and the model servers at once), yields, stops all."""
    async with contextlib.AsyncExitStack() as stack:
        nats = NatsCluster(work / "nats")
        stack.callback(nats.stop)
        inference = [
            service_process(
                work, f"inference-{i}", "inference_service",
                "--instances", "1", "--max-queue", "4", "--context-length", "2048",
            )[0]
            for i in range(2)
        ]  # fmt: skip
        embedding, embedding_address, _ = service_process(work, "embedding", "embedding_service")
        for process in (*inference, embedding):
            stack.callback(process.stop)
        clusters: list[CassandraCluster] = []  # stopped on the way out, however far it got
        stack.callback(_stop_all, clusters)
        milvus, milvus_port = await asyncio.to_thread(start_milvus_lite_server, work)
        stack.callback(milvus.stop)
        await asyncio.gather(
            asyncio.to_thread(lambda: clusters.append(launch_cluster(work / "cassandra"))),
            asyncio.to_thread(nats.start),
            *(start_service(p, SERVICE_START_S) for p in (*inference, embedding)),
        )
        cassandra = clusters[0]
        settings = GatewaySettings(
            listen_port=free_port(),
            admin_port=free_port(),
            internal_port=free_port(),
            chat_upstreams=["127.0.0.1:1"],  # the replicas', once they have ports (below)
            inference_upstreams=[p.grpc_address or "" for p in inference],
            embedding_upstreams=[embedding_address],
            keys_dir=work / "keys",
            health_check_interval_s=1.0,
            health_check_timeout_s=3.0,  # llama.cpp keeps both cores busy
        )
        init_keys(settings.keys_dir)
        internal = f"127.0.0.1:{settings.internal_port}"
        args = [*_chat_args(cassandra, nats, internal, milvus_port), *chat_identity_args(settings)]
        chat, chat_metrics = [], []
        for i in range(2):  # one after the other: the first creates the schema
            process, _, metrics = service_process(work, f"chat-{i}", "chat_service", *args)
            stack.callback(process.stop)
            await start_service(process, SERVICE_START_S)
            chat.append(process)
            chat_metrics.append(metrics)
        settings = settings.model_copy(
            update={"chat_upstreams": [p.grpc_address or "" for p in chat]}
        )
        envoy = await asyncio.to_thread(start_envoy, settings, work, "envoy")
        stack.callback(envoy.stop)
        others = {"milvus": milvus, "embedding": embedding, "envoy": envoy}
        yield ChaosStack(work, cassandra, nats, chat, chat_metrics, inference, others, settings)
