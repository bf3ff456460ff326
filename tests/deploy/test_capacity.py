"""The capacity model (scripts/capacity.py): docs/capacity.md shows what the model computes from
the committed profile, and the model behaves like a size should."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from scripts.capacity import embedded, size, table

ROOT = Path(__file__).resolve().parents[2]
PROFILE = yaml.safe_load((ROOT / "deploy" / "capacity" / "profile.yaml").read_text())


def test_the_document_shows_the_models_table() -> None:
    assert embedded((ROOT / "docs" / "capacity.md").read_text()) == table(PROFILE)


def test_ten_times_the_users_is_ten_times_the_load_and_never_fewer_replicas() -> None:
    small, large = size(100_000, PROFILE), size(1_000_000, PROFILE)
    assert abs(large["peak turns/s"] - 10 * small["peak turns/s"]) < 1e-6
    assert all(large[name] >= small[name] for name in small)


def test_longer_answers_need_more_gpus_and_chat_cpu() -> None:
    longer = copy.deepcopy(PROFILE)
    longer["usage"]["completion_tokens_per_turn"] *= 4
    base, more = size(1_000_000, PROFILE), size(1_000_000, longer)
    assert more["GPU replicas"] > base["GPU replicas"]
    assert more["chat replicas"] > base["chat replicas"]
    assert more["peak turns/s"] == base["peak turns/s"]
