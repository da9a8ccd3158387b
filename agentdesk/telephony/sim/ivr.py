"""Runs one caller through an IVR flow, emitting Asterisk's dialplan events as it goes.

The run is a generator that yields the simulated seconds to wait before its
next step, so the simulator can drive thousands of runs on one scheduler.
Account numbers, PINs and dates of birth typed by the caller never reach
AMI in clear: the channel gets a masked account and an opaque session id;
the full result stays in-process (:class:`IvrResult`), as a bank's IVR
backend would keep it for look-up by session id.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator
from dataclasses import dataclass

from agentdesk.telephony.sim.events import EventWriter
from agentdesk.telephony.sim.ivr_flow import IvrFlow, IvrNode
from agentdesk.telephony.sim.model import Channel
from agentdesk.telephony.sim.traffic import Caller


@dataclass(frozen=True, slots=True)
class CallerScript:
    """Forces a caller's IVR choices (for tests and :meth:`PbxSimulator.place_call`)."""

    intent: str | None = None
    language: str | None = None
    idv: str | None = None  # passed | partial | failed
    self_service: bool = False


@dataclass(frozen=True, slots=True)
class IvrResult:
    """Outcome of one IVR session. ``account`` stays in-process; AMI sees ``account_masked``."""

    session_id: str
    intent: str
    language: str
    idv: str  # passed | partial | failed | not_attempted
    idv_method: str  # pin | dob | "" (not attempted)
    idv_attempts: int
    outcome: str  # queue | self_service | callback
    queue: str
    account: str | None
    account_masked: str


def mask(account: str | None) -> str:
    return f"****{account[-4:]}" if account and len(account) > 4 else ""


class IvrRun:
    """One caller's walk through a flow; iterate :meth:`steps` to drive it."""

    def __init__(
        self,
        flow: IvrFlow,
        chan: Channel,
        caller: Caller,
        session_id: str,
        writer: EventWriter,
        rng: random.Random,
        *,
        script: CallerScript | None = None,
        estimate_wait: Callable[[str], float] = lambda q: 0.0,
        secure_dtmf_events: bool = False,
    ) -> None:
        self.flow, self.chan, self.caller, self.w, self.rng = flow, chan, caller, writer, rng
        self.session_id = session_id
        self.script = script or CallerScript()
        self.estimate_wait = estimate_wait
        self.secure_dtmf_events = secure_dtmf_events
        self.intent, self.language = "general", chan.language
        self.account: str | None = None
        self.account_ok = False
        self.idv, self.idv_method, self.idv_attempts = "not_attempted", "", 0
        self.result: IvrResult | None = None

    # ------------------------------------------------------------------ helpers
    def _app(self, application: str, data: str) -> None:
        self.chan.priority += 1
        self.w.newexten(self.chan, application, data)

    def _press(self, digits: str, secure: bool = False) -> float:
        """DTMF events for ``digits``; returns the simulated typing time."""
        elapsed = 0.0
        for d in digits:
            ms = self.rng.randint(80, 200)
            if not secure or self.secure_dtmf_events:
                self.w.dtmf(self.chan, d, ms)
            elapsed += ms / 1000 + self.rng.uniform(0.3, 1.5)
        return elapsed

    def _set(self, name: str, value: str) -> None:
        self._app("Set", f"{name}={value}")
        self.chan.set_var(name, value)
        self.w.varset(self.chan, name, value)

    def _prompt(self) -> float:
        return self.rng.uniform(0.6, 1.4) * self.flow.prompt_seconds

    # ------------------------------------------------------------------ the run
    def steps(self) -> Generator[float, None, IvrResult]:
        ch = self.chan
        self.w.newexten(ch, "Answer", "")
        ch.state = 6
        self.w.newstate(ch)
        node = self.flow.nodes[self.flow.start]
        for _ in range(64):  # a flow is a DAG in practice; the cap stops a cyclic file
            handler = getattr(self, f"_node_{node.type}")
            nxt = yield from handler(node)
            if nxt is None:
                break
            node = self.flow.nodes[nxt]
        assert self.result is not None
        return self.result

    def _choose_option(self, node: IvrNode) -> str:
        s = self.script
        for digit, opt in node.options.items():
            if (s.intent and opt.intent == s.intent) or (s.language and opt.language == s.language):
                return digit
        if self.rng.random() < node.p_invalid:
            return next(d for d in "9876543210*" if d not in node.options)
        digits = list(node.weights) or list(node.options)
        weights = [node.weights.get(d, 1.0) for d in digits]
        return self.rng.choices(digits, weights)[0]

    def _node_menu(self, node: IvrNode) -> Generator[float, None, str | None]:
        for _ in range(self.flow.max_retries + 1):
            self._app("Background", node.prompt)
            digit = self._choose_option(node)
            yield self._prompt() + self._press(digit)
            option = node.options.get(digit)
            if option is None:
                self._app("Playback", "option-is-invalid")
                continue
            if option.language:
                self.language = self.chan.language = option.language
                self._app("Set", f"CHANNEL(language)={option.language}")
            if option.intent:
                self.intent = option.intent
            return option.goto
        return node.on_failure

    def _knows(self, node: IvrNode) -> bool:
        if self.script.idv is not None:
            return self.script.idv in ("passed", "partial")
        return self.caller.account is not None and self.rng.random() >= node.p_mistype

    def _node_account(self, node: IvrNode) -> Generator[float, None, str | None]:
        for _ in range(self.flow.max_retries + 1):
            self._app("Read", f"ACCOUNT,{node.prompt},{node.digits}")
            if self._knows(node) and self.caller.account:
                typed = self.caller.account
            else:
                typed = "".join(str(self.rng.randrange(10)) for _ in range(node.digits))
            yield self._prompt() + self._press(typed + "#", secure=True)
            self.w.varset(self.chan, "READSTATUS", "OK")
            if typed == self.caller.account or (self.script.idv in ("passed", "partial")):
                self.account, self.account_ok = typed, True
                self._set("__IVR_ACCOUNT_MASKED", mask(typed))
                return node.next_for(self.intent)
            self._app("Playback", "account-not-found")
        self.idv = "failed"
        return node.on_failure

    def _factor_right(self, node: IvrNode) -> bool:
        if self.script.idv is not None:
            return self.script.idv == "passed"
        return self.caller.account is not None and self.rng.random() < node.p_knows

    def _node_idv(self, node: IvrNode) -> Generator[float, None, str | None]:
        if not self.account_ok:
            self.idv = "failed"
            return node.on_failure
        methods = list(node.methods)
        self.idv_method = self.rng.choices(methods, [node.methods[m] for m in methods])[0]
        length = 4 if self.idv_method == "pin" else 8
        for attempt in range(1, node.max_attempts + 1):
            self.idv_attempts = attempt
            self._app("Read", f"{self.idv_method.upper()},enter-{self.idv_method},{length}")
            right = self._factor_right(node)
            yield self._prompt() + self._press("0" * length, secure=True)
            if right:
                self.idv = "passed"
                return node.next_for(self.intent)
            self._app("Playback", "verification-failed")
        self.idv = "partial"  # identified by account, not verified
        return node.on_failure

    def _node_self_service(self, node: IvrNode) -> Generator[float, None, str | None]:
        applies = (not node.intents or self.intent in node.intents) and (
            not node.require_idv or self.idv == "passed"
        )
        if not applies:
            return node.next_for(self.intent)
        self._app("Playback", node.prompt)
        yield self._prompt() * 2
        contained = (
            self.script.self_service if self.script.intent else self.rng.random() < node.p_contained
        )
        if contained:
            self._finish(node.outcome, "")
            return None
        return node.next_for(self.intent)

    def _node_route(self, node: IvrNode) -> Generator[float, None, str | None]:
        queue = self.flow.route(self.intent, self.language)
        if node.callback_wait > 0 and self.estimate_wait(queue) > node.callback_wait:
            self._app("Background", "callback-offer")
            accept = self.rng.random() < node.p_accept_callback and not self.script.intent
            yield self._prompt() + self._press("1" if accept else "2")
            if accept:
                self._finish("callback", queue)
                return None
        self._finish("queue", queue)
        return None

    def _finish(self, outcome: str, queue: str) -> None:
        self._set("__IVR_SESSION", self.session_id)
        self._set("__IVR_INTENT", self.intent)
        self._set("__IVR_LANGUAGE", self.language)
        self._set("__IDV_RESULT", self.idv)
        self._set("__IDV_METHOD", self.idv_method)
        self._set("__IDV_ATTEMPTS", str(self.idv_attempts))
        self.result = IvrResult(
            self.session_id,
            self.intent,
            self.language,
            self.idv,
            self.idv_method,
            self.idv_attempts,
            outcome,
            queue,
            self.account,
            mask(self.account),
        )
        self._app("UserEvent", "IVRResult")
        self.w.user_event(
            self.chan,
            "IVRResult",
            [
                ("Session", self.session_id),
                ("Intent", self.intent),
                ("Language", self.language),
                ("IDV", self.idv),
                ("IDVMethod", self.idv_method),
                ("IDVAttempts", str(self.idv_attempts)),
                ("Account", mask(self.account)),
                ("Outcome", outcome),
                ("Queue", queue),
            ],
        )
