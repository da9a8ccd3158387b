"""Simulator configuration: AMI users, queues, virtual agents, traffic; loaded from TOML.

The defaults live in ``resources/pbx/pbx.toml`` and IVR flows in
``resources/pbx/ivr/*.toml``. Every value here is a frozen dataclass so a
configuration can be shared between the simulator, its AMI server and tests.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agentdesk.telephony.server import AmiUser
from agentdesk.telephony.sim.traffic import Duration, RateProfile

STRATEGIES = ("ringall", "leastrecent", "fewestcalls", "rrmemory", "random", "linear")


def resource_dir() -> Path:
    """``resources/pbx`` of the source tree (the package is installed editable)."""
    return Path(__file__).resolve().parents[3] / "resources" / "pbx"


class ConfigError(ValueError):
    """The simulator configuration is invalid; the message names the offending key."""


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """One queues.conf section."""

    name: str
    strategy: str = "rrmemory"
    timeout: float = 15.0  # seconds a member rings
    retry: float = 5.0  # seconds before trying members again
    wrapuptime: float = 0.0
    autopause: str = "no"  # no | yes | all
    servicelevel: int = 60
    weight: int = 0
    maxlen: int = 0


@dataclass(frozen=True, slots=True)
class AgentBehaviour:
    """How virtual agents work a call and their shift."""

    ring_delay: Duration = Duration(3.0, 0.5)  # noqa: RUF009 (frozen, safe to share)
    p_no_answer: float = 0.02
    p_hold: float = 0.15
    hold: Duration = Duration(30.0, 0.8)  # noqa: RUF009 (frozen, safe to share)
    p_blind_transfer: float = 0.04
    p_attended_transfer: float = 0.02
    consult: Duration = Duration(25.0, 0.6)  # noqa: RUF009 (frozen, safe to share)
    p_agent_hangup: float = 0.4
    breaks_per_hour: float = 0.25
    break_length: Duration = Duration(600.0, 0.5)  # noqa: RUF009 (frozen, safe to share)
    pause_reasons: tuple[str, ...] = ("Break", "Lunch", "Training")


@dataclass(frozen=True, slots=True)
class AgentGroup:
    """A share of the virtual agents with the same skills (queue -> penalty)."""

    share: float
    skills: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class AgentsConfig:
    count: int = 20
    first_extension: int = 2001
    groups: tuple[AgentGroup, ...] = ()
    behaviour: AgentBehaviour = AgentBehaviour()
    # Virtual agents as Local/<ext>@<local_context>/n members whose StateInterface is their
    # phone, PJSIP/agent-<ext> (default: PJSIP/agent-<ext> members, no Local channels).
    local_members: bool = False
    local_context: str = "agents"


@dataclass(frozen=True, slots=True)
class TrafficConfig:
    """Arrivals into ``flow`` (an IVR flow name) or straight into ``queue``."""

    profile: RateProfile = RateProfile((120.0,))  # noqa: RUF009 (frozen, safe to share)
    flow: str | None = "retail"
    queue: str | None = None
    handle: Duration = Duration(300.0, 1.0)  # noqa: RUF009 (frozen, safe to share)
    patience: Duration = Duration(180.0, 1.0, "exponential")  # noqa: RUF009 (frozen, safe to share)
    overload_multiplier: float = 3.0
    p_unknown: float = 0.1
    p_withheld: float = 0.05
    p_foreign: float = 0.05
    external: Duration = Duration(120.0, 0.8)  # noqa: RUF009 (frozen, safe to share)


@dataclass(frozen=True, slots=True)
class PbxConfig:
    """Everything the simulator needs."""

    users: tuple[AmiUser, ...] = ()
    channelvars: tuple[str, ...] = ()
    queues: Mapping[str, QueueConfig] = field(default_factory=dict)
    agents: AgentsConfig = AgentsConfig()
    traffic: TrafficConfig = TrafficConfig()
    transfer_context: str = "transfers"
    transfer_targets: Mapping[str, str] = field(default_factory=dict)  # exten -> queue
    flows_dir: Path | None = None
    carrier_endpoint: str = "PJSIP/carrier"
    noise: float = 0.0  # probability per call step of a noise event (VarSet/RTCP)
    jitter: float = 0.0  # probability of swapping adjacent events of different channels
    secure_dtmf_events: bool = False  # DTMF events for account/PIN/DOB digits (leaks them)

    def with_(self, **changes: Any) -> PbxConfig:
        return replace(self, **changes)


def _duration(raw: Any, default: Duration, key: str) -> Duration:
    if raw is None:
        return default
    if isinstance(raw, int | float):
        return Duration(float(raw), default.cv, default.kind)
    if not isinstance(raw, dict):
        raise ConfigError(f"{key}: expected a number or a table with mean/cv/kind")
    kind = str(raw.get("kind", default.kind))
    if kind not in ("lognormal", "exponential", "fixed"):
        raise ConfigError(f"{key}.kind: unknown distribution {kind!r}")
    return Duration(float(raw.get("mean", default.mean)), float(raw.get("cv", default.cv)), kind)


def _flag(raw: Any, key: str) -> bool:
    if not isinstance(raw, bool):
        raise ConfigError(f"agents.{key}: expected true or false")
    return raw


def _queue(name: str, raw: Mapping[str, Any]) -> QueueConfig:
    q = QueueConfig(name=name)
    strategy = str(raw.get("strategy", q.strategy))
    if strategy not in STRATEGIES:
        raise ConfigError(f"queues.{name}.strategy: {strategy!r} is not one of {STRATEGIES}")
    autopause = str(raw.get("autopause", q.autopause)).lower()
    if autopause not in ("no", "yes", "all"):
        raise ConfigError(f"queues.{name}.autopause: expected no, yes or all")
    return QueueConfig(
        name=name,
        strategy=strategy,
        timeout=float(raw.get("timeout", q.timeout)),
        retry=float(raw.get("retry", q.retry)),
        wrapuptime=float(raw.get("wrapuptime", 0)),
        autopause=autopause,
        servicelevel=int(raw.get("servicelevel", q.servicelevel)),
        weight=int(raw.get("weight", 0)),
        maxlen=int(raw.get("maxlen", 0)),
    )


def _behaviour(raw: Mapping[str, Any]) -> AgentBehaviour:
    b = AgentBehaviour()
    return AgentBehaviour(
        ring_delay=_duration(raw.get("ring_delay"), b.ring_delay, "agents.ring_delay"),
        p_no_answer=float(raw.get("p_no_answer", b.p_no_answer)),
        p_hold=float(raw.get("p_hold", b.p_hold)),
        hold=_duration(raw.get("hold"), b.hold, "agents.hold"),
        p_blind_transfer=float(raw.get("p_blind_transfer", b.p_blind_transfer)),
        p_attended_transfer=float(raw.get("p_attended_transfer", b.p_attended_transfer)),
        consult=_duration(raw.get("consult"), b.consult, "agents.consult"),
        p_agent_hangup=float(raw.get("p_agent_hangup", b.p_agent_hangup)),
        breaks_per_hour=float(raw.get("breaks_per_hour", b.breaks_per_hour)),
        break_length=_duration(raw.get("break_length"), b.break_length, "agents.break_length"),
        pause_reasons=tuple(raw.get("pause_reasons", b.pause_reasons)),
    )


def _traffic(raw: Mapping[str, Any]) -> TrafficConfig:
    t = TrafficConfig()
    rates = raw.get("rates_per_hour", list(t.profile.rates_per_hour))
    if isinstance(rates, int | float):
        rates = [rates]
    if not rates or any(float(r) < 0 for r in rates):
        raise ConfigError("traffic.rates_per_hour: expected non-negative rates")
    return TrafficConfig(
        profile=RateProfile(tuple(float(r) for r in rates), float(raw.get("slot_seconds", 1800))),
        flow=raw.get("flow", t.flow) or None,
        queue=raw.get("queue") or None,
        handle=_duration(raw.get("handle"), t.handle, "traffic.handle"),
        patience=_duration(raw.get("patience"), t.patience, "traffic.patience"),
        overload_multiplier=float(raw.get("overload_multiplier", t.overload_multiplier)),
        p_unknown=float(raw.get("p_unknown", t.p_unknown)),
        p_withheld=float(raw.get("p_withheld", t.p_withheld)),
        p_foreign=float(raw.get("p_foreign", t.p_foreign)),
        external=_duration(raw.get("external"), t.external, "traffic.external"),
    )


def _users(raw: Mapping[str, Any]) -> tuple[AmiUser, ...]:
    users = []
    for name, spec in raw.items():
        if "secret" not in spec:
            raise ConfigError(f"ami.users.{name}: missing secret")
        users.append(
            AmiUser(
                username=name,
                secret=str(spec["secret"]),
                read=frozenset(spec.get("read", ["all"])),
                write=frozenset(spec.get("write", ["all"])),
            )
        )
    return tuple(users)


def parse_config(data: Mapping[str, Any], *, base_dir: Path | None = None) -> PbxConfig:
    """Build a :class:`PbxConfig` from parsed TOML; raises :class:`ConfigError`."""
    try:
        ami = data.get("ami", {})
        queues = {name: _queue(name, spec) for name, spec in data.get("queues", {}).items()}
        agents_raw = data.get("agents", {})
        groups = tuple(
            AgentGroup(float(g.get("share", 1.0)), {str(k): int(v) for k, v in g["skills"].items()})
            for g in agents_raw.get("groups", [])
        ) or (AgentGroup(1.0, {name: 0 for name in queues}),)
        for group in groups:
            for queue in group.skills:
                if queue not in queues:
                    raise ConfigError(f"agents.groups: skill for unknown queue {queue!r}")
        transfers = data.get("transfers", {})
        flows = data.get("flows_dir")
        return PbxConfig(
            users=_users(ami.get("users", {})),
            channelvars=tuple(ami.get("channelvars", ())),
            queues=queues,
            agents=AgentsConfig(
                count=int(agents_raw.get("count", 20)),
                first_extension=int(agents_raw.get("first_extension", 2001)),
                groups=groups,
                behaviour=_behaviour(agents_raw),
                local_members=_flag(agents_raw.get("local_members", False), "local_members"),
                local_context=str(agents_raw.get("local_context", "agents")),
            ),
            traffic=_traffic(data.get("traffic", {})),
            transfer_context=str(transfers.get("context", "transfers")),
            transfer_targets={str(k): str(v) for k, v in transfers.get("targets", {}).items()},
            flows_dir=(base_dir / flows)
            if (flows and base_dir)
            else (base_dir / "ivr" if base_dir else None),
            noise=float(data.get("noise", 0.0)),
            jitter=float(data.get("jitter", 0.0)),
            secure_dtmf_events=bool(data.get("secure_dtmf_events", False)),
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"invalid simulator configuration: {exc!r}") from exc


def load_config(path: str | Path | None = None) -> PbxConfig:
    """Load ``path`` (default ``resources/pbx/pbx.toml``)."""
    file = Path(path) if path else resource_dir() / "pbx.toml"
    with file.open("rb") as fh:
        data = tomllib.load(fh)
    return parse_config(data, base_dir=file.parent)
