"""What a chaos run checks beyond the load's own exactly-once verification:

- JobLedger: no side job (summary, cache write, invalidation) lost. A published job is
  checked where it is kept: JetStream's own count of the jobs its streams stored, of those left
  unacknowledged, and of those dead-lettered, against the jobs the chat replicas' metrics say
  were published. A job run in process (the queue could not take it) is checked by the replicas'
  metrics: run against done. A replica about to be killed is read just before, so its counts
  are not lost with it; a worker's count was not used, since a job it finished between that
  read and the kill would have looked lost.
- Hints: the Cassandra node that came back caught up by hinted handoff: the other nodes held
  hint files for it while it was down, replayed them once it returned (their logs say so), and
  in the end, once no hint is left anywhere, the node on its own (the others stopped) holds
  every message the API read back.
"""

from __future__ import annotations

import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from chat_service.jobs.queue import DLQ_STREAM, TURN_STREAM
from chat_service.jobs.queue import STREAM as JOBS_STREAM
from local_stack.launch.cassandra import CassandraNode
from local_stack.launch.cassandra_cluster import CassandraCluster

OFFERED = "chat_queue_publish_total"  # outcome: published | duplicate | fallback (in process)
HANDLED = "chat_jobs_processed_total"  # a worker's jobs; outcome: ok | retry | dead_letter
IN_PROCESS = "chat_jobs_in_process_total"  # outcome: ok | retry | given_up
HANDED_OFF = "Finished hinted handoff"  # HintsDispatchExecutor's line, per hints file
StreamState = Callable[[str], dict[str, Any] | None]  # a stream's state by its leader


def _scrape(url: str) -> Counter[tuple[str, str, str]]:
    """(metric, job, outcome) -> count, from one replica's /metrics."""
    with urllib.request.urlopen(url, timeout=5) as reply:
        text = reply.read().decode()
    counts: Counter[tuple[str, str, str]] = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in (OFFERED, HANDLED, IN_PROCESS):
                key = (sample.name, sample.labels["job"], sample.labels["outcome"])
                counts[key] += int(sample.value)
    return counts


class JobLedger:
    def __init__(self, metrics_urls: list[str], stream_state: StreamState) -> None:
        self.urls = metrics_urls
        self.stream_state = stream_state
        self.carried: Counter[tuple[str, str, str]] = Counter()

    def carry(self, index: int) -> None:
        """Keep replica ``index``'s counts: it is about to be killed."""
        self.carried += _scrape(self.urls[index])

    def totals(self) -> Counter[tuple[str, str, str]]:
        totals = Counter(self.carried)
        for url in self.urls:
            totals += _scrape(url)
        return totals

    def streams(self) -> dict[str, dict[str, Any] | None]:
        return {name: self.stream_state(name) for name in (JOBS_STREAM, TURN_STREAM, DLQ_STREAM)}

    def settle(self, timeout_s: float = 60.0) -> dict[str, Any]:
        """Polls until every job offered was handled (or the deadline), then the figures."""
        deadline = time.monotonic() + timeout_s
        while True:
            report = self.report(self.totals(), self.streams())
            if report["lost"] == 0 or time.monotonic() > deadline:
                return report
            time.sleep(0.5)

    @staticmethod
    def report(
        totals: Mapping[tuple[str, str, str], int], streams: Mapping[str, dict[str, Any] | None]
    ) -> dict[str, Any]:
        def total(metric: str, outcome: str) -> int:
            return sum(n for (m, _, o), n in totals.items() if m == metric and o == outcome)

        by_job: Counter[str] = Counter()
        for (metric, job, outcome), n in totals.items():
            if metric == OFFERED and outcome != "duplicate":
                by_job[job] += n
        published, ran_in_process = total(OFFERED, "published"), total(OFFERED, "fallback")
        report: dict[str, Any] = {
            "offered": published + ran_in_process,
            "published": published,
            "ran_in_process": ran_in_process,
            "done_in_process": total(IN_PROCESS, "ok"),
            "handled_by_workers": total(HANDLED, "ok"),  # redeliveries included
            "retried": total(HANDLED, "retry") + total(IN_PROCESS, "retry"),
            "offered_by_job": dict(by_job),
        }
        if any(state is None for state in streams.values()):
            unknown = sorted(name for name, state in streams.items() if state is None)
            return report | {"lost": None, "error": f"no leader answered for {unknown}"}

        def state(name: str, key: str) -> int:
            return int((streams[name] or {}).get(key) or 0)

        # A work-queue stream drops a job once acknowledged: a job is stored once however
        # often it was published (its id is the message id), and left until a worker is done.
        stored = state(JOBS_STREAM, "last_seq") + state(TURN_STREAM, "last_seq")
        left = state(JOBS_STREAM, "messages") + state(TURN_STREAM, "messages")
        not_done_here = ran_in_process - report["done_in_process"]
        return report | {
            "stored": stored,
            "left_in_queue": left,
            "dead_lettered": state(DLQ_STREAM, "last_seq") + total(IN_PROCESS, "given_up"),
            # A publish acknowledged but not stored, a stored job never done, or a job run
            # in process that did not finish.
            "lost": max(0, published - stored) + left + max(0, not_done_here),
        }


# ------------------------------------------------------------------------------ hinted handoff


def hint_files(cluster: CassandraCluster, victim: CassandraNode) -> int:
    """Hint files the other nodes hold (for the victim: the only node that was down)."""
    return sum(
        len(list(Path(node.run_dir, "hints").glob("*.hints")))
        for node in cluster.nodes
        if node is not victim
    )


def handoffs_logged(cluster: CassandraCluster, victim: CassandraNode) -> int:
    """Hint files the other nodes have replayed to the victim, by their logs."""
    count = 0
    for node in cluster.nodes:
        if node is not victim:
            log = Path(node.run_dir, "system.log").read_text(errors="replace")
            count += sum(
                HANDED_OFF in line and f"/{victim.host}:" in line for line in log.splitlines()
            )
    return count


def wait_handed_off(
    cluster: CassandraCluster, victim: CassandraNode, timeout_s: float = 90.0
) -> float:
    """Seconds until the other nodes hold no hint file and have logged a handoff to the
    victim; raises past the deadline."""
    started = time.monotonic()
    while hint_files(cluster, victim) or not handoffs_logged(cluster, victim):
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(
                f"hints not replayed to {victim.host} after {timeout_s:.0f} s: "
                f"{hint_files(cluster, victim)} files left"
            )
        time.sleep(0.5)
    return time.monotonic() - started


def wait_hints_drained(
    cluster: CassandraCluster, quiet_s: float = 15.0, timeout_s: float = 120.0
) -> None:
    """Returns once no node has held a hint file for `quiet_s`: a LOCAL_QUORUM write may still
    be on its way to its third replica (a mutation the busy victim dropped late in the run is a
    hint in a coordinator's buffer, flushed to a file within 10 s, then replayed). Past the
    deadline it returns all the same: the read then finds what is missing."""
    started = last_seen = time.monotonic()
    while time.monotonic() - last_seen < quiet_s and time.monotonic() - started < timeout_s:
        if any(Path(node.run_dir, "hints").glob("*.hints") for node in cluster.nodes):
            last_seen = time.monotonic()
        time.sleep(0.5)


def _read_retrying(session: Any, cql: Any, deadline_s: float = 120.0) -> list[Any]:
    """Runs a read, again until a deadline: on the one node left, until gossip convicts the
    nodes just stopped (~10 s) the coordinator may still send a range to one of them and time
    out; at ALL, a busy replica may."""
    from cassandra import OperationTimedOut, ReadTimeout, Unavailable

    deadline = time.monotonic() + deadline_s
    while True:
        try:
            return list(session.execute(cql))
        except (OperationTimedOut, ReadTimeout, Unavailable):
            if time.monotonic() >= deadline:
                raise
            time.sleep(2.0)


def node_alone_holds(
    cluster: CassandraCluster,
    victim: CassandraNode,
    keyspace: str,
    stored: Mapping[str, Mapping[str, tuple[str, str]]],
) -> dict[str, int]:
    """Once every hint is delivered and a read at ALL has repaired what the replicas disagree
    on, stops the other nodes, then reads every message from the victim alone (consistency ONE
    can only be served by it) and compares with what the API read back. Run last.

    The read at ALL is there because hints cannot cover what the victim acknowledged and then
    lost: a SIGKILL drops the writes of its last commitlog sync period (periodic, 10 s by
    default), which its two peers hold; read repair (or nodetool repair) brings them back."""
    from cassandra import ConsistencyLevel
    from cassandra.query import SimpleStatement

    cql = f"SELECT chat_id, message_id, status, content FROM {keyspace}.messages"
    wait_hints_drained(cluster)
    with cluster.session() as session:
        _read_retrying(session, SimpleStatement(cql, consistency_level=ConsistencyLevel.ALL))
    for node in cluster.nodes:
        if node is not victim:
            node.stop()
    with cluster.session(only=victim) as session:
        rows = _read_retrying(session, cql)
        own = {(str(r.chat_id), str(r.message_id)): (str(r.status), r.content or "") for r in rows}
    expected = {(chat, m): v for chat, messages in stored.items() for m, v in messages.items()}
    missing = [key for key in expected if key not in own]
    differ = [
        key
        for key, (status, content) in expected.items()
        if key in own and (own[key][1] != content or own[key][0].upper() != status.upper())
    ]
    return {"expected": len(expected), "missing": len(missing), "different": len(differ)}
