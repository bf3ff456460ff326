"""Resident memory of the services under load: VmRSS summed over each service's process group
(/proc), sampled before, during and after the load, and reported per service with its growth,
peak and slope over the load."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from loadgen.records import LoadState


def group_rss(pgid: int) -> dict[str, float]:
    """VmRSS in MB of each live process of a process group (a service and its helpers, e.g.
    Milvus Lite's server beside the chat service), by process name; empty if none is alive."""
    found: dict[str, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            status = Path(f"/proc/{entry}/status").read_text()
        except (OSError, ValueError, IndexError):
            continue
        name = re.search(r"^Name:\s+(.*)$", status, re.MULTILINE)
        rss = re.search(r"^VmRSS:\s+(\d+)\s+kB", status, re.MULTILINE)
        key = f"{name.group(1) if name else '?'}[{entry}]"
        found[key] = int(rss.group(1)) / 1024 if rss else 0.0  # zombies have no VmRSS
    return found


@dataclass
class RssSample:
    t_s: float  # seconds since the load started
    phase: str  # before, load, after
    mb: dict[str, float | None]  # per service: its process group's total
    detail: dict[str, dict[str, float]]  # per service: each process of the group


def sample_rss(state: LoadState, phase: str) -> RssSample:
    detail = {name: group_rss(pid) for name, pid in state.target.processes.items()}
    totals = {name: sum(p.values()) if p else None for name, p in detail.items()}
    return RssSample(round(state.now(), 2), phase, totals, detail)


def slope_mb_per_min(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MB) points, in MB per minute."""
    if len(points) < 3:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    cov = sum((t - mean_t) * (v - mean_v) for t, v in points)
    return cov / var * 60


def rss_report(samples: Sequence[RssSample]) -> dict[str, dict[str, float | None]]:
    """Per service: before and after the load, the peak, and the slope over the load (all of
    it, and its second half, once caches and pools have warmed up)."""
    report: dict[str, dict[str, float | None]] = {}
    names = samples[0].mb.keys() if samples else []
    for name in names:
        series = [(s.t_s, s.mb[name], s.phase) for s in samples if s.mb.get(name) is not None]
        during = [(t, float(v)) for t, v, phase in series if phase != "before" and v is not None]
        before = next((v for _, v, phase in series if phase == "before"), None)
        after = next((v for _, v, phase in reversed(series) if phase == "after"), None)
        half = during[len(during) // 2 :]
        report[name] = {
            "before_mb": before,
            "after_mb": after,
            "growth_mb": after - before if after is not None and before is not None else None,
            "peak_mb": max((v for _, v in during), default=None),
            "slope_mb_per_min": slope_mb_per_min(during),
            "slope_second_half_mb_per_min": slope_mb_per_min(half),
        }
    return report


async def rss_sampler(state: LoadState, samples: list[RssSample], stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), state.config.rss_interval_s)
        if not stop.is_set():
            samples.append(await asyncio.to_thread(sample_rss, state, "load"))
