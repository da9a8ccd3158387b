"""IVR flow definitions, loaded from ``resources/pbx/ivr/*.toml``.

A flow is a set of named nodes (``menu``, ``account``, ``idv``,
``self_service``, ``route``) plus routing rules from (intent, language) to a
queue. Besides what the IVR does, each node says how simulated callers
behave there (choice weights, mistype and knowledge probabilities).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NODE_TYPES = ("menu", "account", "idv", "self_service", "route")


class FlowError(ValueError):
    """An IVR flow file is invalid; the message names the flow and node."""


@dataclass(frozen=True, slots=True)
class MenuOption:
    goto: str
    intent: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """First matching rule wins; ``None`` matches anything."""

    queue: str
    intent: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class IvrNode:
    name: str
    type: str
    prompt: str = ""
    goto: str = "route"
    goto_by_intent: Mapping[str, str] = field(default_factory=dict)
    on_failure: str = "route"
    options: Mapping[str, MenuOption] = field(default_factory=dict)
    weights: Mapping[str, float] = field(default_factory=dict)
    p_invalid: float = 0.0
    digits: int = 8
    p_mistype: float = 0.0
    methods: Mapping[str, float] = field(default_factory=dict)
    max_attempts: int = 3
    p_knows: float = 0.9
    intents: tuple[str, ...] = ()
    require_idv: bool = False
    p_contained: float = 0.0
    outcome: str = "self_service"
    callback_wait: float = 0.0  # offer a callback when the estimated wait exceeds this
    p_accept_callback: float = 0.0

    def next_for(self, intent: str) -> str:
        return self.goto_by_intent.get(intent, self.goto)


@dataclass(frozen=True, slots=True)
class IvrFlow:
    name: str
    did: str
    context: str
    start: str
    nodes: Mapping[str, IvrNode]
    routes: tuple[Route, ...]
    default_queue: str
    max_retries: int = 2
    prompt_seconds: float = 6.0  # typical prompt length before the caller acts

    def route(self, intent: str, language: str) -> str:
        for r in self.routes:
            if (r.intent in (None, intent)) and (r.language in (None, language)):
                return r.queue
        return self.default_queue


def _node(name: str, raw: Mapping[str, Any]) -> IvrNode:
    kind = raw.get("type")
    if kind not in NODE_TYPES:
        raise FlowError(f"node {name!r}: type must be one of {NODE_TYPES}, not {kind!r}")
    options = {
        str(d): MenuOption(str(o["goto"]), o.get("intent"), o.get("language"))
        for d, o in raw.get("options", {}).items()
    }
    for digit in options:
        if len(digit) != 1 or digit not in "0123456789*#":
            raise FlowError(f"node {name!r}: option {digit!r} is not a single DTMF digit")
    return IvrNode(
        name=name,
        type=kind,
        prompt=str(raw.get("prompt", name)),
        goto=str(raw.get("goto", "route")),
        goto_by_intent={str(k): str(v) for k, v in raw.get("goto_by_intent", {}).items()},
        on_failure=str(raw.get("on_failure", "route")),
        options=options,
        weights={str(k): float(v) for k, v in raw.get("weights", {}).items()},
        p_invalid=float(raw.get("p_invalid", 0.0)),
        digits=int(raw.get("digits", 8)),
        p_mistype=float(raw.get("p_mistype", 0.0)),
        methods={str(k): float(v) for k, v in raw.get("methods", {"pin": 1.0}).items()},
        max_attempts=int(raw.get("max_attempts", 3)),
        p_knows=float(raw.get("p_knows", 0.9)),
        intents=tuple(raw.get("intents", ())),
        require_idv=bool(raw.get("require_idv", False)),
        p_contained=float(raw.get("p_contained", 0.0)),
        outcome=str(raw.get("outcome", "self_service")),
        callback_wait=float(raw.get("callback_wait", 0.0)),
        p_accept_callback=float(raw.get("p_accept_callback", 0.0)),
    )


def parse_flow(data: Mapping[str, Any], name: str = "flow") -> IvrFlow:
    """Build and check a flow: every ``goto`` must name a node."""
    try:
        nodes = {n: _node(n, spec) for n, spec in data.get("nodes", {}).items()}
        routes = tuple(
            Route(str(r["queue"]), r.get("intent"), r.get("language"))
            for r in data.get("routes", [])
        )
        flow = IvrFlow(
            name=str(data.get("name", name)),
            did=str(data.get("did", "s")),
            context=str(data.get("context", f"ivr-{name}")),
            start=str(data.get("start", "")),
            nodes=nodes,
            routes=routes,
            default_queue=str(data["default_queue"]),
            max_retries=int(data.get("max_retries", 2)),
            prompt_seconds=float(data.get("prompt_seconds", 6.0)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, FlowError):
            raise FlowError(f"IVR flow {name!r}: {exc}") from None
        raise FlowError(f"IVR flow {name!r}: invalid ({exc!r})") from exc
    targets = [(flow.start, "start")]
    for node in nodes.values():
        targets += [(node.goto, node.name), (node.on_failure, node.name)]
        targets += [(o.goto, node.name) for o in node.options.values()]
        targets += [(t, node.name) for t in node.goto_by_intent.values()]
    for target, where in targets:
        if target not in nodes:
            raise FlowError(f"IVR flow {name!r}: {where} refers to unknown node {target!r}")
    return flow


def load_flows(directory: Path) -> dict[str, IvrFlow]:
    """Every ``*.toml`` flow in ``directory``, by flow name."""
    flows: dict[str, IvrFlow] = {}
    for path in sorted(directory.glob("*.toml")):
        with path.open("rb") as fh:
            flow = parse_flow(tomllib.load(fh), path.stem)
        flows[flow.name] = flow
    return flows
