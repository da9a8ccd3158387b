"""IVR flows: validation, ID&V outcomes, self-service exits, routing, and no account data on AMI."""

from __future__ import annotations

import re

import pytest

from agentdesk.telephony.codec import encode
from agentdesk.telephony.sim.config import ConfigError, load_config, parse_config
from agentdesk.telephony.sim.ivr_flow import FlowError, parse_flow
from agentdesk.telephony.sim.simulator import PbxSimulator
from agentdesk.telephony.sim.traffic import StaticCallerPool
from tests.telephony.amihelpers import EPOCH, FLOWS, Recorder, make_sim

MINIMAL = {"default_queue": "q", "start": "route", "nodes": {"route": {"type": "route"}}}


def test_flow_validation_names_the_problem() -> None:
    assert parse_flow(MINIMAL).start == "route"
    with pytest.raises(FlowError, match="unknown node 'nowhere'"):
        parse_flow({**MINIMAL, "nodes": {"route": {"type": "route", "goto": "nowhere"}}})
    with pytest.raises(FlowError, match="type must be one of"):
        parse_flow({**MINIMAL, "nodes": {"route": {"type": "teleport"}}})
    bad_digit = {"type": "menu", "options": {"12": {"goto": "route"}}}
    with pytest.raises(FlowError, match="single DTMF digit"):
        parse_flow({**MINIMAL, "nodes": {"route": {"type": "route"}, "m": bad_digit}})
    with pytest.raises(FlowError, match="invalid"):
        parse_flow({"start": "route", "nodes": {}})


def test_config_validation() -> None:
    config = load_config()
    assert {"general", "cards", "sales", "german"} <= set(config.queues)
    assert "IVR_SESSION" in config.channelvars and config.users
    with pytest.raises(ConfigError, match="strategy"):
        parse_config({"queues": {"q": {"strategy": "telepathy"}}})
    with pytest.raises(ConfigError, match="unknown queue"):
        parse_config({"queues": {"q": {}}, "agents": {"groups": [{"skills": {"x": 0}}]}})
    with pytest.raises(ConfigError, match="missing secret"):
        parse_config({"ami": {"users": {"u": {}}}})


def _ivr(sim: PbxSimulator, **script: object) -> tuple[Recorder, str]:
    rec = Recorder()
    sim.add_sink(rec)
    placed = sim.place_call("+447700900500", **script)  # type: ignore[arg-type]
    sim.run_for(400)
    return rec, placed.session_id


@pytest.mark.parametrize(
    ("idv", "expected"), [("passed", "passed"), ("partial", "partial"), ("failed", "failed")]
)
def test_idv_outcomes_reach_channel_variables_and_user_event(idv: str, expected: str) -> None:
    sim = make_sim(load_config())
    rec, session = _ivr(sim, intent="card_lost", idv=idv)
    user = rec.of("UserEvent")[0]
    assert user["IDV"] == expected and user["Intent"] == "card_lost"
    result = sim.ivr_results[session]
    assert result.idv == expected
    assert result.idv_attempts == (0 if expected == "failed" else 1 if expected == "passed" else 3)
    join = rec.of("QueueCallerJoin")[0]
    assert join["Queue"] == "cards"
    assert join.variables()["IDV_RESULT"] == expected
    assert join.variables()["IVR_SESSION"] == session


def test_self_service_exit_ends_in_the_ivr() -> None:
    sim = make_sim(load_config(), virtual_agents=0)
    rec, _ = _ivr(sim, intent="opening_hours", self_service=True)  # type: ignore[arg-type]
    assert rec.of("UserEvent")[0]["Outcome"] == "self_service"
    assert not rec.of("QueueCallerJoin") and rec.names()[-1] == "Hangup"
    assert sim.stats().self_service == 1


def test_german_speakers_route_to_the_german_queue() -> None:
    sim = make_sim(load_config())
    rec, _ = _ivr(sim, intent="balance", language="de")
    assert rec.of("QueueCallerJoin")[0]["Queue"] == "german"
    assert rec.of("QueueCallerJoin")[0]["Language"] == "de"


def test_account_numbers_pins_and_birth_dates_never_reach_ami_or_queue_log() -> None:
    pool = StaticCallerPool.demo(size=300, seed=7)
    sim = PbxSimulator(load_config(), seed=3, epoch=EPOCH, caller_pool=pool, flows=FLOWS)
    rec = Recorder()
    sim.add_sink(rec)
    log: list[str] = []
    sim.qlog.add_listener(log.append)
    sim.run_for(2 * 3600)
    results = list(sim.ivr_results.values())
    assert sum(r.account is not None for r in results) > 20  # the IVR did collect accounts
    text = b"".join(encode(m) for m in rec.events).decode() + "\n".join(log)
    assert "****" in text  # masked form only
    eight_digit_runs = set(re.findall(r"(?<!\d)\d{8}(?!\d)", text))
    secrets = {c.account for c in pool._callers} | {
        c.dob.replace("-", "") for c in pool._callers if c.dob
    }
    assert not eight_digit_runs & secrets
    # Typed digits of account, PIN and date-of-birth prompts (Read) never appear as DTMF:
    # every DTMF event follows a menu prompt (Background) on its channel.
    last_app: dict[str, str] = {}
    for m in rec.events:
        if m.event == "Newexten":
            last_app[m["Uniqueid"]] = m["Application"]
        elif m.event == "DTMFBegin":
            assert last_app[m["Uniqueid"]] == "Background"
