"""Keeps the demo lively: there is always a caller on the way to the demo agent.

The first call skips the IVR so it rings within seconds; from then on, as soon
as the agent answers one call the next caller enters the IVR (about a minute of
menus and ID&V) and queues for the agent while they talk and wrap up — the way
a real queue feels. If nothing is on the way when the agent is Available, a
caller is sent straight to the queue. Only used by ``agentdesk demo``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from agentdesk.services.desk.agent_state import AgentState
from agentdesk.services.desk.demo_calls import CallKind, DemoCallers, ScriptedCall
from agentdesk.services.desk.screen_pop import CallChange, ChangeKind
from agentdesk.ui.desk_controller import DeskController

Place = Callable[[ScriptedCall, bool], None]  # (call, through the IVR)


class DemoDirector(QObject):
    """Places scripted calls to the agent's phone."""

    call_placed = Signal(object, bool)  # ScriptedCall, through the IVR

    def __init__(
        self,
        controller: DeskController,
        callers: DemoCallers,
        place: Place,
        *,
        first_after: float = 1.0,
        idle_after: float = 75.0,
        only: CallKind | None = None,
        seed: int = 7,
        ready: Callable[[], bool] = lambda: True,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._controller, self._callers, self._place = controller, callers, place
        self._rng = random.Random(seed)
        self._only = only
        self._ready = ready  # e.g. the cache fill has finished: the first pop is then local
        self._idle_after = idle_after
        self._last_placed = time.monotonic() - idle_after + first_after
        self._placed = 0
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self._tick)
        controller.call_changed.connect(self._on_controller_call_changed)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        if self._only is not None and self._placed:
            return  # a scenario shows one call (screenshots)
        idle = (
            self._controller.state.state is AgentState.AVAILABLE
            and self._controller.current_call() is None
            and self._ready()
        )
        if idle and time.monotonic() - self._last_placed >= self._idle_after:
            self._send(through_ivr=self._only is not None)

    def _on_controller_call_changed(self, change: CallChange) -> None:
        if change.kind is ChangeKind.CONNECTED and self._only is None:
            self._send(through_ivr=True)

    def _send(self, *, through_ivr: bool) -> None:
        call = self._callers.next_call(self._rng, self._only)
        self._placed += 1
        self._last_placed = time.monotonic()
        self._place(call, through_ivr)
        self.call_placed.emit(call, through_ivr)
