"""A load generator against a deployment's REST API through Envoy (the bounded load run of
issue 7): many simulated users at once, then a check that the history store kept every turn
exactly once. Every HTTP call has a deadline; resident memory (VmRSS, summed over each
service's process group) is sampled before, during and after the load.

Shared by the test (tests/gateway/test_load_run.py, a short run against the test fixtures'
stack) and the benchmark (bench/load_run.py, a long run against a stack of its own).

- config: what a run does (LoadConfig), what it runs against (Target), the question pools
- client: the HTTP/1.1 + SSE client, retry hints and reasons of error answers
- records: what a run records per turn and chat, the turn outcomes, the run's counters
- users: the simulated users
- rss: resident memory sampling and its report
- verify: the exactly-once verification (its docstring says what is checked)
- result: LoadResult, its summary and files
- run: run_load, the whole run
"""

from loadgen.client import retry_hint_s
from loadgen.config import FOLLOW_UPS, QUESTIONS, LoadConfig, Target, chat_service_args
from loadgen.records import ChatRecord, LoadState, TurnRecord
from loadgen.result import LoadResult, result_document, write_turns
from loadgen.run import run_load
from loadgen.verify import Verification, check_chat

__all__ = [
    "FOLLOW_UPS",
    "QUESTIONS",
    "ChatRecord",
    "LoadConfig",
    "LoadResult",
    "LoadState",
    "Target",
    "TurnRecord",
    "Verification",
    "chat_service_args",
    "check_chat",
    "result_document",
    "retry_hint_s",
    "run_load",
    "write_turns",
]
