"""Erlang B/C/A and staffing against the research test vectors and independent computations."""

from __future__ import annotations

import math
from decimal import Decimal, getcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentdesk.services.supervisor.erlang import (
    ErlangInputError,
    StaffingInfeasibleError,
    StaffingTarget,
    erlang_a_metrics,
    erlang_b,
    erlang_c,
    erlang_c_metrics,
    offered_load,
    required_agents,
    staffing_plan,
)

HALF_HOUR = 1800.0


# -- research vectors (telephony.md §4.2) -----------------------------------------------------


def test_classic_example_360_calls_240s_55_agents() -> None:
    result = erlang_c_metrics(55, 360, HALF_HOUR, 240, sl_threshold_s=15)
    assert result.traffic_erlangs == pytest.approx(48.0)
    assert result.p_wait == pytest.approx(0.2387, abs=5e-5)
    assert result.asa_s == pytest.approx(8.18, abs=0.005)
    assert result.service_level == pytest.approx(0.846, abs=5e-4)
    assert result.occupancy == pytest.approx(0.873, abs=5e-4)
    assert result.stable


def test_bank_like_200_calls_needs_39_agents_for_80_20() -> None:
    staffing = required_agents(200, HALF_HOUR, 300, StaffingTarget(0.8, 20))
    assert staffing.agents == 39
    assert staffing.model == "erlang-c"
    assert staffing.traffic_erlangs == pytest.approx(33.33, abs=0.005)
    assert staffing.asa_s == pytest.approx(13.4, abs=0.05)
    assert staffing.service_level == pytest.approx(0.826, abs=5e-4)
    assert staffing.occupancy == pytest.approx(0.855, abs=5e-4)
    assert erlang_c_metrics(39, 200, HALF_HOUR, 300).p_wait == pytest.approx(0.254, abs=5e-4)
    # One agent fewer misses the target: 39 is the smallest N.
    assert erlang_c_metrics(38, 200, HALF_HOUR, 300).service_level < 0.8


def test_smaller_team_100_calls_needs_21_agents() -> None:
    staffing = required_agents(100, HALF_HOUR, 300)
    assert staffing.agents == 21
    assert staffing.asa_s == pytest.approx(16.0, abs=0.05)
    assert staffing.service_level == pytest.approx(0.826, abs=5e-4)


@pytest.mark.parametrize(
    ("agents", "p_abandon", "mean_wait"), [(36, 0.044, 7.9), (38, 0.026, None), (40, 0.015, None)]
)
def test_erlang_a_180s_patience(agents: int, p_abandon: float, mean_wait: float | None) -> None:
    result = erlang_a_metrics(agents, 200, HALF_HOUR, 300, patience_s=180)
    assert result.p_abandon == pytest.approx(p_abandon, abs=5e-4)
    if mean_wait is not None:
        assert result.mean_wait_s == pytest.approx(mean_wait, abs=0.05)
        assert result.p_wait == pytest.approx(0.307, abs=5e-4)


def test_erlang_a_impatient_callers() -> None:
    result = erlang_a_metrics(36, 200, HALF_HOUR, 300, patience_s=60)
    assert result.p_abandon == pytest.approx(0.058, abs=5e-4)
    assert result.mean_wait_s == pytest.approx(3.5, abs=0.05)


# -- small exact values and edge cases -------------------------------------------------------


def test_erlang_b_small_exact_values() -> None:
    assert erlang_b(0, 3.0) == 1.0
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    assert erlang_b(2, 1.0) == pytest.approx(0.2)  # (1/2) / (1 + 1 + 1/2)
    assert erlang_b(3, 0.0) == 0.0


def test_erlang_c_matches_its_closed_form_for_small_n() -> None:
    n, a = 3, 2.0
    top = a**n / math.factorial(n) * n / (n - a)
    expected = top / (sum(a**k / math.factorial(k) for k in range(n)) + top)
    assert erlang_c(n, a) == pytest.approx(expected, rel=1e-12)


def test_unstable_erlang_c_says_so_instead_of_raising() -> None:
    result = erlang_c_metrics(30, 200, HALF_HOUR, 300)  # 33.3 Erlangs on 30 agents
    assert not result.stable
    assert result.p_wait == 1.0
    assert math.isinf(result.asa_s)
    assert result.service_level == 0.0
    assert erlang_c(10, 10.0) == 1.0


def test_zero_traffic() -> None:
    assert erlang_c(5, 0.0) == 0.0
    c = erlang_c_metrics(5, 0, HALF_HOUR, 300)
    assert (c.p_wait, c.asa_s, c.service_level, c.occupancy) == (0.0, 0.0, 1.0, 0.0)
    a = erlang_a_metrics(5, 0, HALF_HOUR, 300, 180)
    assert (a.p_abandon, a.service_level) == (0.0, 1.0)
    assert required_agents(0, HALF_HOUR, 300).agents == 0


def test_huge_agent_counts_do_not_overflow() -> None:
    assert erlang_b(1_000_000, 10.0) == 0.0
    big = erlang_c_metrics(20_000, 19_800 * HALF_HOUR / 300, HALF_HOUR, 300)
    assert 0.0 < big.p_wait < 1.0
    assert math.isfinite(big.asa_s)
    far = erlang_a_metrics(3000, 1000, HALF_HOUR, 300, patience_s=180)  # A = 166.7, N = 3000
    assert far.p_wait == pytest.approx(0.0, abs=1e-12)
    assert far.service_level == pytest.approx(1.0)


def test_overload_erlang_a_stays_finite() -> None:
    result = erlang_a_metrics(500, 12_000, HALF_HOUR, 300, patience_s=180)  # A = 2000 on 500
    assert result.p_abandon == pytest.approx(0.75, abs=1e-3)  # only N·μ of λ can be served
    assert result.occupancy == pytest.approx(1.0, abs=1e-3)
    assert 0.0 <= result.service_level < 0.01


@pytest.mark.parametrize(
    "call",
    [
        lambda: erlang_b(-1, 2.0),
        lambda: erlang_c(3, float("nan")),
        lambda: erlang_c(2.5, 1.0),  # type: ignore[arg-type]
        lambda: erlang_c(True, 1.0),
        lambda: offered_load(10, 0, 300),
        lambda: offered_load(10, 1800, float("inf")),
        lambda: erlang_a_metrics(3, 10, 1800, 300, patience_s=0),
        lambda: erlang_c_metrics(3, -1, 1800, 300),
        lambda: erlang_b(3, "2"),  # type: ignore[arg-type]
        lambda: required_agents(10, 1800, 300, StaffingTarget(service_level=1.5)),
    ],
)
def test_bad_inputs_raise_a_clear_error(call: object) -> None:
    with pytest.raises(ErlangInputError):
        call()  # type: ignore[operator]


# -- Erlang A checked by independent methods -------------------------------------------------


def test_erlang_a_stationary_matches_a_brute_force_birth_death_solve() -> None:
    n, lam, mu, theta = 4, 1 / 60, 1 / 200, 1 / 90
    weights = [1.0]
    for j in range(1, 400):
        weights.append(weights[-1] * lam / (min(j, n) * mu + max(j - n, 0) * theta))
    total = sum(weights)
    p_wait = sum(weights[n:]) / total
    mean_queue = sum((j - n) * w for j, w in enumerate(weights) if j > n) / total
    result = erlang_a_metrics(n, lam * 3600, 3600, 1 / mu, patience_s=1 / theta)
    assert result.p_wait == pytest.approx(p_wait, rel=1e-9)
    assert result.mean_queue_length == pytest.approx(mean_queue, rel=1e-9)
    assert result.p_abandon == pytest.approx(theta * mean_queue / lam, rel=1e-9)


def _hypoexponential_service_level(
    agents: int, lam: float, mu: float, theta: float, t: float
) -> float:
    """P(answered within t) in closed form with 60-digit decimals (no cancellation trouble)."""
    getcontext().prec = 60
    lam_d, mu_d, th = Decimal(lam), Decimal(mu), Decimal(theta)
    weights = [Decimal(1)]
    for j in range(1, agents + 120):
        rate = min(j, agents) * mu_d + max(j - agents, 0) * th
        weights.append(weights[-1] * lam_d / rate)
    total = sum(weights)
    answered = sum(weights[:agents]) / total
    for k in range(len(weights) - agents):  # k callers ahead
        rates = [agents * mu_d + i * th for i in range(k + 1)]
        within = Decimal(0)
        for i, rate in enumerate(rates):
            coefficient = Decimal(1)
            for j, other in enumerate(rates):
                if j != i:
                    coefficient *= other / (other - rate)
            # ∫0^t rate·e^(-rate v)·e^(-θ v) dv: served at v, patience not yet run out
            within += coefficient * rate / (rate + th) * (1 - (-(rate + th) * Decimal(t)).exp())
        answered += weights[agents + k] / total * within
    return float(answered)


def test_erlang_a_service_level_matches_the_closed_hypoexponential_form() -> None:
    agents, lam, mu, theta = 8, 7 / 300, 1 / 300, 1 / 120
    expected = _hypoexponential_service_level(agents, lam, mu, theta, 20.0)
    result = erlang_a_metrics(agents, lam * 1800, 1800, 300, patience_s=120, sl_threshold_s=20)
    assert result.service_level == pytest.approx(expected, abs=1e-9)


def test_erlang_a_everyone_who_is_not_lost_is_answered_eventually() -> None:
    result = erlang_a_metrics(36, 200, HALF_HOUR, 300, patience_s=180, sl_threshold_s=3000)
    assert result.service_level == pytest.approx(1.0 - result.p_abandon, abs=1e-9)


def test_erlang_a_tends_to_erlang_c_as_patience_grows() -> None:
    c = erlang_c_metrics(36, 200, HALF_HOUR, 300)
    a = erlang_a_metrics(36, 200, HALF_HOUR, 300, patience_s=1e9)
    assert a.p_wait == pytest.approx(c.p_wait, rel=1e-5)
    assert a.asa_s == pytest.approx(c.asa_s, rel=1e-4)
    assert a.service_level == pytest.approx(c.service_level, rel=1e-5)


# -- staffing --------------------------------------------------------------------------------


def test_erlang_a_staffing_with_an_abandonment_cap() -> None:
    target = StaffingTarget(0.8, 20, max_abandon=0.03)
    result = required_agents(200, HALF_HOUR, 300, target, patience_s=180)
    assert result.model == "erlang-a"
    assert result.agents == 38  # 36 → 4.4 %, 37 → over 3 %, 38 → 2.6 %
    assert result.p_abandon is not None and result.p_abandon <= 0.03
    below = erlang_a_metrics(37, 200, HALF_HOUR, 300, 180)
    assert below.p_abandon > 0.03 or below.service_level < 0.8


def test_asa_and_occupancy_caps_raise_the_agent_count() -> None:
    plain = required_agents(200, HALF_HOUR, 300).agents
    assert required_agents(200, HALF_HOUR, 300, StaffingTarget(max_asa_s=5)).agents > plain
    assert required_agents(200, HALF_HOUR, 300, StaffingTarget(max_occupancy=0.8)).agents == 42


def test_target_out_of_reach_of_the_agent_limit_raises() -> None:
    with pytest.raises(StaffingInfeasibleError, match="more than 30 agents"):
        required_agents(200, HALF_HOUR, 300, max_agents=30)  # 33.3 Erlangs
    with pytest.raises(StaffingInfeasibleError, match="not met with 37 agents"):
        required_agents(200, HALF_HOUR, 300, StaffingTarget(0.95), patience_s=180, max_agents=37)


def test_staffing_plan_per_interval() -> None:
    plan = staffing_plan([0, 100, 200, 360], HALF_HOUR, 300)
    assert [r.agents for r in plan] == [0, 21, 39, 67]


def test_large_center_staffing_is_quick_and_near_the_square_root_rule() -> None:
    result = required_agents(20_000, HALF_HOUR, 300)  # 3333 Erlangs
    a = result.traffic_erlangs
    assert a < result.agents < a + 2 * math.sqrt(a)
    assert erlang_c_metrics(result.agents - 1, 20_000, HALF_HOUR, 300).service_level < 0.8


# -- properties ------------------------------------------------------------------------------

loads = st.floats(min_value=0.01, max_value=200.0, allow_nan=False)


@given(a=loads, extra=st.integers(min_value=1, max_value=60))
def test_erlang_c_is_a_probability_and_falls_as_agents_are_added(a: float, extra: int) -> None:
    n = math.floor(a) + extra
    c_n, c_next = erlang_c(n, a), erlang_c(n + 1, a)
    assert 0.0 <= c_next <= c_n <= 1.0
    assert 0.0 <= erlang_b(n, a) <= c_n


@given(
    a=loads,
    extra=st.integers(min_value=1, max_value=40),
    t=st.floats(min_value=0.0, max_value=600.0),
)
def test_erlang_c_service_level_in_unit_interval_and_monotone(
    a: float, extra: int, t: float
) -> None:
    n = math.floor(a) + extra
    first = erlang_c_metrics(n, a * 6, 1800, 300, t)
    second = erlang_c_metrics(n + 1, a * 6, 1800, 300, t)
    assert 0.0 <= first.service_level <= second.service_level <= 1.0
    assert second.asa_s <= first.asa_s


@settings(max_examples=40, deadline=None)
@given(
    a=st.floats(min_value=0.5, max_value=60.0),
    n=st.integers(min_value=1, max_value=80),
    patience=st.floats(min_value=10.0, max_value=1000.0),
)
def test_erlang_a_probabilities_are_consistent(a: float, n: int, patience: float) -> None:
    result = erlang_a_metrics(n, a * 6, 1800, 300, patience)
    more = erlang_a_metrics(n + 1, a * 6, 1800, 300, patience)
    for value in (result.p_wait, result.p_abandon, result.service_level, result.occupancy):
        assert 0.0 <= value <= 1.0
    assert result.service_level <= 1.0 - result.p_abandon + 1e-9
    assert more.p_abandon <= result.p_abandon + 1e-12
    assert result.mean_wait_s == pytest.approx(result.p_abandon * patience, rel=1e-9)
