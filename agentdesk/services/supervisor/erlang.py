"""Queueing formulas for contact-center planning: Erlang B, Erlang C and Erlang A.

Pure Python, no Qt, no database: the supervisor wallboard, ``agentdesk report``
and the simulator's tests all call these functions.

Conventions
- Traffic is given as ``calls`` arriving in an interval of ``interval_s``
  seconds with an average handle time ``aht_s``; the offered load is
  ``A = calls * aht_s / interval_s`` Erlangs.
- Erlang C (M/M/N) assumes callers never hang up. When ``A >= N`` the queue
  grows without bound: results say so with ``stable=False`` (``p_wait`` 1,
  ``asa_s`` infinite, ``service_level`` 0) instead of raising.
- Erlang A (M/M/N+M) adds exponential patience with mean ``patience_s``. It is
  a birth-death chain, stable for any load. P(wait), P(abandon), mean wait and
  mean queue length come from its stationary distribution; the service level
  and the answered callers' ASA come from following one arriving caller
  through a pure-death chain (callers ahead are served or abandon; the tagged
  caller may abandon too). The service level is computed by uniformisation,
  a sum of positive terms only, so it stays accurate where the closed
  hypoexponential formula cancels catastrophically.

Staffing (``required_agents``) finds the smallest N meeting a
``StaffingTarget`` by bisection; every measure used is monotone in N.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Tail terms of the Erlang A distribution below exp(-_LOG_TAIL_CUTOFF) of the
# largest term are dropped: far below double precision of the total.
_LOG_TAIL_CUTOFF = 40.0
# Uniformisation: Poisson weights beyond mean + this many standard deviations are negligible.
_POISSON_SIGMAS = 10.0
_DEFAULT_MAX_AGENTS = 1_000_000


class ErlangInputError(ValueError):
    """Arguments that no queueing formula can use (negative, NaN, infinite, non-integer N)."""


class StaffingInfeasibleError(ValueError):
    """No number of agents up to the search limit meets the staffing target."""


@dataclass(frozen=True)
class ErlangCResult:
    """Steady-state figures of an M/M/N queue (Erlang C) for one interval."""

    agents: int
    traffic_erlangs: float
    p_wait: float
    asa_s: float
    service_level: float
    sl_threshold_s: float
    occupancy: float
    stable: bool


@dataclass(frozen=True)
class ErlangAResult:
    """Steady-state figures of an M/M/N+M queue (Erlang A, exponential patience).

    ``mean_wait_s`` is over all arrivals (abandoners wait until they hang up),
    so ``p_abandon == mean_wait_s / patience_s``. ``asa_s`` is over answered
    calls only. ``service_level`` is answered within the threshold ÷ offered;
    ``service_level_of_answered`` is the same count ÷ answered.
    """

    agents: int
    traffic_erlangs: float
    patience_s: float
    p_wait: float
    p_abandon: float
    mean_wait_s: float
    asa_s: float
    mean_queue_length: float
    service_level: float
    service_level_of_answered: float
    sl_threshold_s: float
    occupancy: float


@dataclass(frozen=True)
class StaffingTarget:
    """What an interval must achieve: ``service_level`` within ``threshold_s``, plus caps."""

    service_level: float = 0.8
    threshold_s: float = 20.0
    max_abandon: float | None = None
    max_asa_s: float | None = None
    max_occupancy: float | None = None

    def describe(self) -> str:
        parts = [f"{self.service_level:.0%} answered within {self.threshold_s:g} s"]
        if self.max_abandon is not None:
            parts.append(f"abandonment ≤ {self.max_abandon:.1%}")
        if self.max_asa_s is not None:
            parts.append(f"ASA ≤ {self.max_asa_s:g} s")
        if self.max_occupancy is not None:
            parts.append(f"occupancy ≤ {self.max_occupancy:.0%}")
        return ", ".join(parts)


@dataclass(frozen=True)
class StaffingResult:
    """Agents needed for one interval's forecast, with the figures that N achieves."""

    calls: float
    interval_s: float
    aht_s: float
    agents: int
    traffic_erlangs: float
    model: str  # "erlang-c" or "erlang-a"
    service_level: float
    asa_s: float
    p_abandon: float | None
    occupancy: float


def _check_finite(name: str, value: float, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ErlangInputError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ErlangInputError(f"{name} must be finite, got {value}")
    if value < 0 or (positive and value == 0):
        raise ErlangInputError(f"{name} must be {'> 0' if positive else '>= 0'}, got {value}")
    return value


def _check_agents(agents: int) -> int:
    if isinstance(agents, bool) or not isinstance(agents, int):
        raise ErlangInputError(f"agents must be an int, got {type(agents).__name__}")
    if agents < 0:
        raise ErlangInputError(f"agents must be >= 0, got {agents}")
    return agents


def offered_load(calls: float, interval_s: float, aht_s: float) -> float:
    """Offered traffic in Erlangs: ``calls * aht_s / interval_s``."""
    calls = _check_finite("calls", calls)
    interval_s = _check_finite("interval_s", interval_s, positive=True)
    aht_s = _check_finite("aht_s", aht_s, positive=True)
    return calls * aht_s / interval_s


def erlang_b(agents: int, erlangs: float) -> float:
    """Blocking probability of M/M/N/N by the stable recursion B_k = A·B/(k + A·B)."""
    n = _check_agents(agents)
    a = _check_finite("erlangs", erlangs)
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
        if b == 0.0:  # underflow: every later term is smaller still
            break
    return b


def erlang_c(agents: int, erlangs: float) -> float:
    """Probability that an arrival waits in M/M/N; 1.0 when the queue is unstable (A >= N)."""
    n = _check_agents(agents)
    a = _check_finite("erlangs", erlangs)
    if a == 0.0:
        return 0.0
    if a >= n:
        return 1.0
    b = erlang_b(n, a)
    return n * b / (n - a * (1.0 - b))


def erlang_c_metrics(
    agents: int, calls: float, interval_s: float, aht_s: float, sl_threshold_s: float = 20.0
) -> ErlangCResult:
    """P(wait), ASA, service level within ``sl_threshold_s`` and occupancy of M/M/N."""
    n = _check_agents(agents)
    a = offered_load(calls, interval_s, aht_s)
    t = _check_finite("sl_threshold_s", sl_threshold_s)
    if a == 0.0:
        return ErlangCResult(n, 0.0, 0.0, 0.0, 1.0, t, 0.0, True)
    if a >= n:
        return ErlangCResult(n, a, 1.0, math.inf, 0.0, t, 1.0, False)
    c = erlang_c(n, a)
    asa = c * aht_s / (n - a)
    sl = 1.0 - c * math.exp(-(n - a) * t / aht_s)
    return ErlangCResult(n, a, c, asa, min(1.0, max(0.0, sl)), t, a / n, True)


@dataclass(frozen=True)
class _Stationary:
    """Erlang A stationary distribution seen by an arrival (PASTA)."""

    p_immediate: float  # P(an agent is free on arrival)
    ahead: tuple[float, ...]  # ahead[k] = P(arrival finds k callers waiting, all agents busy)
    mean_queue: float


def _log_inv_erlang_b(n: int, a: float) -> float:
    """log(1/B(n, a)) by the recursion 1/B_k = 1 + (k/a)/B_{k-1}, kept in log space."""
    x = 0.0
    for k in range(1, n + 1):
        y = math.log(k / a) + x
        x = y + math.log1p(math.exp(-y)) if y > 0 else math.log1p(math.exp(y))
    return x


def _erlang_a_stationary(n: int, lam: float, mu: float, theta: float) -> _Stationary:
    """π_j for j >= N relative to π_N in log space, normalised with Σ_{j<=N} π_j = π_N / B."""
    a = lam / mu
    log_tail = [0.0]  # log(π_{N+k} / π_N), k = 0, 1, ...
    peak = 0.0
    k = 0
    while True:
        k += 1
        rate = n * mu + k * theta
        log_tail.append(log_tail[-1] + math.log(lam / rate))
        peak = max(peak, log_tail[-1])
        if lam < rate and log_tail[-1] < peak - _LOG_TAIL_CUTOFF:
            break
    log_head = _log_inv_erlang_b(n, a) if n > 0 else 0.0  # log(Σ_{j<=N} π_j / π_N)
    top = max(peak, log_head)
    head = math.exp(log_head - top)
    tail = [math.exp(v - top) for v in log_tail]
    total = head + sum(tail[1:])
    ahead = tuple(v / total for v in tail)
    p_immediate = max(0.0, 1.0 - sum(ahead))
    mean_queue = sum(i * p for i, p in enumerate(ahead))
    return _Stationary(p_immediate, ahead, mean_queue)


def _served_profile(ahead: Sequence[float], n_mu: float, theta: float) -> tuple[float, float]:
    """Over callers who find all agents busy: P(served) and E[wait · 1{served}].

    A caller with i callers ahead leaves that state at rate r_i = Nμ + iθ + θ:
    towards service (one fewer ahead) at Nμ + iθ, abandoning at θ.
    """
    p_served = 0.0
    wait_served = 0.0
    s = m = 0.0
    for i, weight in enumerate(ahead):
        down = n_mu + i * theta
        r = down + theta
        s_prev, m_prev = (1.0, 0.0) if i == 0 else (s, m)
        s = down / r * s_prev
        m = s / r + down / r * m_prev
        p_served += weight * s
        wait_served += weight * m
    return p_served, wait_served


def _served_within(ahead: Sequence[float], n_mu: float, theta: float, t: float) -> float:
    """P(a caller who finds all agents busy is answered within t), by uniformisation."""
    if t <= 0.0 or not ahead:
        return 0.0
    k_max = len(ahead) - 1
    big_rate = n_mu + (k_max + 1) * theta
    mean = big_rate * t
    n_steps = int(mean + _POISSON_SIGMAS * math.sqrt(mean) + 20)
    down = [(n_mu + i * theta) / big_rate for i in range(k_max + 1)]
    stay = [1.0 - d - theta / big_rate for d in down]
    state = list(ahead)
    served = 0.0
    total = 0.0
    log_mean = math.log(mean) if mean > 0 else -math.inf
    for step in range(n_steps + 1):
        weight = math.exp(-mean + step * log_mean - math.lgamma(step + 1)) if mean > 0 else 0.0
        total += weight * served
        served += state[0] * down[0]
        state = [state[i] * stay[i] + state[i + 1] * down[i + 1] for i in range(k_max)] + [
            state[k_max] * stay[k_max]
        ]
    return total


def erlang_a_metrics(
    agents: int,
    calls: float,
    interval_s: float,
    aht_s: float,
    patience_s: float,
    sl_threshold_s: float = 20.0,
) -> ErlangAResult:
    """Erlang A (M/M/N+M) figures; ``patience_s`` is the callers' mean patience."""
    n = _check_agents(agents)
    a = offered_load(calls, interval_s, aht_s)
    patience = _check_finite("patience_s", patience_s, positive=True)
    t = _check_finite("sl_threshold_s", sl_threshold_s)
    if a == 0.0:
        return ErlangAResult(n, 0.0, patience, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, t, 0.0)
    lam = calls / interval_s
    mu = 1.0 / aht_s
    theta = 1.0 / patience
    dist = _erlang_a_stationary(n, lam, mu, theta)
    p_wait = 1.0 - dist.p_immediate
    p_abandon = theta * dist.mean_queue / lam
    served_busy, wait_served = _served_profile(dist.ahead, n * mu, theta)
    p_served = dist.p_immediate + served_busy
    within = dist.p_immediate + _served_within(dist.ahead, n * mu, theta, t)
    asa = wait_served / p_served if p_served > 0 else math.inf
    occupancy = min(1.0, a * (1.0 - p_abandon) / n) if n else 1.0
    return ErlangAResult(
        agents=n,
        traffic_erlangs=a,
        patience_s=patience,
        p_wait=p_wait,
        p_abandon=p_abandon,
        mean_wait_s=dist.mean_queue / lam,
        asa_s=asa,
        mean_queue_length=dist.mean_queue,
        service_level=min(1.0, within),
        service_level_of_answered=min(1.0, within / p_served) if p_served > 0 else 0.0,
        sl_threshold_s=t,
        occupancy=occupancy,
    )


def _evaluate(
    n: int,
    calls: float,
    interval_s: float,
    aht_s: float,
    target: StaffingTarget,
    patience_s: float | None,
) -> StaffingResult:
    if patience_s is None:
        c = erlang_c_metrics(n, calls, interval_s, aht_s, target.threshold_s)
        return StaffingResult(
            calls, interval_s, aht_s, n, c.traffic_erlangs, "erlang-c",
            c.service_level, c.asa_s, None, c.occupancy,
        )  # fmt: skip
    e = erlang_a_metrics(n, calls, interval_s, aht_s, patience_s, target.threshold_s)
    return StaffingResult(
        calls, interval_s, aht_s, n, e.traffic_erlangs, "erlang-a",
        e.service_level, e.asa_s, e.p_abandon, e.occupancy,
    )  # fmt: skip


def _meets(result: StaffingResult, target: StaffingTarget) -> bool:
    if result.service_level < target.service_level:
        return False
    if target.max_asa_s is not None and result.asa_s > target.max_asa_s:
        return False
    if target.max_abandon is not None and (result.p_abandon or 0.0) > target.max_abandon:
        return False
    return not (target.max_occupancy is not None and result.occupancy > target.max_occupancy)


def _check_target(target: StaffingTarget) -> None:
    if not 0.0 <= target.service_level <= 1.0:
        raise ErlangInputError(
            f"service level target must be in [0, 1], got {target.service_level}"
        )
    _check_finite("threshold_s", target.threshold_s)
    for name in ("max_abandon", "max_asa_s", "max_occupancy"):
        value = getattr(target, name)
        if value is not None:
            _check_finite(name, value)


def unreachable_reason(target: StaffingTarget, patience_s: float | None = None) -> str:
    """Why no number of agents meets ``target`` under any traffic (empty when one may).

    With random (Poisson) arrivals there is always a chance that a caller waits
    longer than any threshold, so a 100 % service level is never met, however
    many agents: the formulas only come close enough for floating point to
    round the shortfall away (Erlang C gives "100.0 %" from 44 agents for
    200 calls of 300 s in 30 minutes). Likewise a zero abandonment cap under
    Erlang A (every waiting caller may hang up) and a zero ASA cap.
    """
    if target.service_level >= 1.0:
        return (
            f"a {target.service_level:.0%} service level cannot be reached: with random "
            f"arrivals some callers always wait longer than {target.threshold_s:g} s, "
            "however many agents (choose a target below 100 %)"
        )
    if patience_s is not None and target.max_abandon is not None and target.max_abandon <= 0:
        return (
            "an abandonment cap of 0 % cannot be reached: under Erlang A any waiting "
            "caller may hang up"
        )
    if target.max_asa_s is not None and target.max_asa_s <= 0:
        return "an ASA cap of 0 s cannot be reached: some callers always wait"
    return ""


def service_level_definition(
    model: str, threshold_s: float, patience_s: float | None = None
) -> str:
    """What a staffing result's service level means, printed beside it."""
    if model == "erlang-a":
        patience = "" if patience_s is None else f", mean patience {patience_s:g} s"
        return (
            f"Service level (Erlang A{patience}): calls answered within {threshold_s:g} s "
            "÷ all offered calls; callers who hang up before an answer count as not "
            "answered in time (ASA over answered calls only)"
        )
    return (
        f"Service level (Erlang C): calls answered within {threshold_s:g} s ÷ all offered "
        "calls, assuming no caller hangs up"
    )


def required_agents(
    calls: float,
    interval_s: float,
    aht_s: float,
    target: StaffingTarget | None = None,
    patience_s: float | None = None,
    max_agents: int = _DEFAULT_MAX_AGENTS,
) -> StaffingResult:
    """Smallest N meeting ``target`` (Erlang C, or Erlang A when ``patience_s`` is given).

    Zero traffic needs zero agents. Raises ``StaffingInfeasibleError`` when even
    ``max_agents`` falls short (e.g. a 100 % service-level target).
    """
    target = target or StaffingTarget()
    _check_target(target)
    a = offered_load(calls, interval_s, aht_s)
    if patience_s is not None:
        _check_finite("patience_s", patience_s, positive=True)
    if a == 0.0:
        return _evaluate(0, calls, interval_s, aht_s, target, patience_s)
    unreachable = unreachable_reason(target, patience_s)
    if unreachable:
        raise StaffingInfeasibleError(unreachable)
    # Erlang C needs N > A; Erlang A is stable for any N >= 1.
    low = max(1, math.floor(a) + 1) if patience_s is None else 1
    if low > max_agents:
        raise StaffingInfeasibleError(f"{a:.1f} Erlangs needs more than {max_agents} agents")
    best = _evaluate(low, calls, interval_s, aht_s, target, patience_s)
    if _meets(best, target):
        return best
    # Gallop upwards from the lower bound, then bisect: every measure is monotone in N.
    step = max(1, math.ceil(math.sqrt(a)))
    high = low
    while True:
        high = min(max_agents, high + step)
        best = _evaluate(high, calls, interval_s, aht_s, target, patience_s)
        if _meets(best, target):
            break
        if high == max_agents:
            raise StaffingInfeasibleError(
                f"target ({target.describe()}) not met with {max_agents} agents for {a:.1f} Erlangs"
            )
        low, step = high, step * 2
    while high - low > 1:
        mid = (low + high) // 2
        candidate = _evaluate(mid, calls, interval_s, aht_s, target, patience_s)
        if _meets(candidate, target):
            high, best = mid, candidate
        else:
            low = mid
    return best


def staffing_plan(
    forecast: Sequence[float],
    interval_s: float,
    aht_s: float,
    target: StaffingTarget | None = None,
    patience_s: float | None = None,
) -> tuple[StaffingResult, ...]:
    """``required_agents`` for each interval of a forecast (calls per interval)."""
    return tuple(required_agents(c, interval_s, aht_s, target, patience_s) for c in forecast)
