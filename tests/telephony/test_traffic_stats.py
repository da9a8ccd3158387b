"""Long-run simulator statistics against Erlang A, plus the traffic generators themselves.

Tolerance (stated): over 120 simulated hours (≈48 000 calls, seed fixed) the
abandonment rate must be within ±1.0 percentage point of Erlang A and the mean
wait of all arrivals within ±2 s; both bounds are about 3 standard errors of
such a run (measured over independent seeds). The exponential-patience identity
P(Ab) = θ·E[W] (Mandelbaum & Zeltyn) must hold within 15 %.
"""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from agentdesk.telephony.sim.config import QueueConfig, TrafficConfig
from agentdesk.telephony.sim.traffic import (
    Caller,
    CallerMix,
    Duration,
    RateProfile,
    StaticCallerPool,
    lognormal,
    next_arrival,
)
from tests.telephony.amihelpers import EPOCH, make_config, make_sim, quiet_behaviour

try:  # the services engineer's implementation, when present
    from agentdesk.services.supervisor.erlang import erlang_a_metrics
except ImportError:  # pragma: no cover - fallback keeps this test independent of services
    erlang_a_metrics = None


def erlang_a_local(agents: int, lam: float, mu: float, theta: float) -> tuple[float, float]:
    """(P(abandon), E[wait of all arrivals]) of M/M/N+M by its birth-death chain."""
    weights, w, j = [1.0], 1.0, 0
    while True:
        j += 1
        w *= lam / (min(j, agents) * mu + max(j - agents, 0) * theta)
        weights.append(w)
        if j > agents and w < 1e-14 * sum(weights):
            break
    total = sum(weights)
    queue = sum(max(k - agents, 0) * p for k, p in enumerate(weights)) / total
    return theta * queue / lam, queue / lam


def _run(hours: float, *, seed: int, overload: bool = False) -> tuple[int, int, float]:
    queues = {
        "erl": QueueConfig(
            "erl", strategy="leastrecent", timeout=3600, retry=0, autopause="no", servicelevel=20
        )
    }
    config = make_config(
        queues=queues,
        agents=36,
        behaviour=quiet_behaviour(ring_delay=Duration(0, 0, "fixed"), p_agent_hangup=0.0),
        traffic=TrafficConfig(
            profile=RateProfile((400.0,)),
            flow=None,
            queue="erl",
            handle=Duration(300, 1, "exponential"),
            patience=Duration(180, 1, "exponential"),
            overload_multiplier=2.0,
        ),
    )
    sim = make_sim(config, traffic=True, seed=seed, events=False, overload=overload)
    lines: list[str] = []
    sim.qlog.add_listener(lines.append)
    sim.run_for(hours * 3600)
    entered = abandoned = 0
    waits: list[int] = []
    for line in lines:
        f = line.split("|")
        if int(f[0]) < EPOCH + 3600:  # one hour of warm-up
            continue
        if f[4] == "ENTERQUEUE":
            entered += 1
        elif f[4] == "ABANDON":
            abandoned += 1
            waits.append(int(f[7]))
        elif f[4] == "CONNECT":
            waits.append(int(f[5]))
    return entered, abandoned, sum(waits) / len(waits)


@pytest.mark.slow
def test_long_run_matches_erlang_a() -> None:
    local_ab, local_wait = erlang_a_local(36, 400 / 3600, 1 / 300, 1 / 180)
    assert local_ab == pytest.approx(0.044, abs=0.001)  # research §4.2 test vector
    if erlang_a_metrics is not None:
        ref = erlang_a_metrics(36, 200, 1800, 300, 180)
        assert ref.p_abandon == pytest.approx(local_ab, rel=1e-3)
    entered, abandoned, mean_wait = _run(120, seed=11)
    p_ab = abandoned / entered
    assert entered == pytest.approx(119 * 400, rel=0.03)
    assert abs(p_ab - local_ab) <= 0.010, (p_ab, local_ab)
    assert abs(mean_wait - local_wait) <= 2.0, (mean_wait, local_wait)
    assert p_ab == pytest.approx(mean_wait / 180, rel=0.15)


def test_overload_mode_produces_mass_abandonment() -> None:
    entered, abandoned, mean_wait = _run(6, seed=5, overload=True)
    assert abandoned / entered > 0.25 and mean_wait > 60


def test_thinning_follows_the_intraday_profile() -> None:
    rng = random.Random(4)
    profile = RateProfile((0.0, 3600.0, 1200.0), slot_seconds=600)
    counts: Counter[int] = Counter()
    t = 0.0
    while True:
        nxt = next_arrival(rng, profile, t)
        assert nxt is not None
        if nxt > 30 * 1800:
            break
        counts[int(nxt // 600) % 3] += 1
        t = nxt
    assert counts[0] == 0
    assert counts[1] == pytest.approx(30 * 600, rel=0.05)  # 1/s for 10 min, 30 cycles
    assert counts[2] == pytest.approx(30 * 200, rel=0.07)
    assert next_arrival(rng, RateProfile((0.0,)), 0.0) is None


def test_lognormal_mean_and_cv() -> None:
    rng = random.Random(9)
    xs = [lognormal(rng, 300, 1.0) for _ in range(40_000)]
    mean = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / len(xs))
    assert mean == pytest.approx(300, rel=0.03) and sd / mean == pytest.approx(1.0, rel=0.1)


def test_caller_mix_has_unknown_withheld_and_foreign_numbers() -> None:
    pool = StaticCallerPool([Caller("+447700900001", "Ann")])
    mix = CallerMix(pool, p_unknown=0.2, p_withheld=0.1, p_foreign=0.1)
    rng = random.Random(2)
    kinds = Counter(mix.draw(rng).kind for _ in range(5000))
    assert kinds["withheld"] == pytest.approx(500, rel=0.2)
    assert kinds["foreign"] == pytest.approx(500, rel=0.2)
    assert kinds["unknown"] == pytest.approx(1000, rel=0.15)
    assert kinds["known"] == pytest.approx(3000, rel=0.1)
    withheld = next(c for c in (mix.draw(rng) for _ in range(200)) if c.kind == "withheld")
    assert withheld.number == "anonymous"
