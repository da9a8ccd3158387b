"""Call control: answer, hold, hang up, transfer, consult, dial — and the talk/hold timers.

The buttons are the shared shortcut actions; this class only decides which
are enabled for the current call and shows the timers.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QWidget

from agentdesk.services.desk.screen_pop import CallPhase
from agentdesk.ui import format as fmt
from agentdesk.ui.desk_controller import DeskController


class CallTimerLabel(QLabel):
    """``Talk 1:02 · Hold 0:10`` for the current call, ticking every second."""

    def __init__(self, controller: DeskController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("callTimer")
        self.setMinimumWidth(190)
        self._controller = controller
        timer = QTimer(self)
        timer.setInterval(1000)
        timer.timeout.connect(self.refresh)
        timer.start()
        controller.call_changed.connect(lambda _c: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        call = self._controller.current_call()
        now = time.time()
        if call is None:
            self.setText("No call")
        elif call.phase is CallPhase.RINGING:
            self.setText(f"Ringing {fmt.duration(now - call.offered_at)}")
        else:
            talk = now - (call.connected_at or now)
            hold = call.held_for(now)
            self.setText(f"Talk {fmt.duration(talk)} · Hold {fmt.duration(hold)}")


class CallControls:
    """Enables the call actions that make sense for the current call."""

    def __init__(self, controller: DeskController, actions: dict[str, QAction]) -> None:
        self._controller = controller
        self._actions = actions
        actions["answer"].triggered.connect(controller.answer)
        actions["hangup"].triggered.connect(controller.hangup)
        actions["hold"].triggered.connect(controller.toggle_hold)
        actions["available"].triggered.connect(controller.go_available)
        controller.call_changed.connect(lambda _c: self.refresh())
        controller.pop_dismissed.connect(lambda _l, _r: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        call = self._controller.current_call()
        phase = call.phase if call else None
        live = phase in (CallPhase.CONNECTED, CallPhase.ON_HOLD)
        self._actions["answer"].setEnabled(phase is CallPhase.RINGING)
        self._actions["hangup"].setEnabled(
            phase is not None
            and phase in (CallPhase.RINGING, *((CallPhase.CONNECTED, CallPhase.ON_HOLD)))
        )
        self._actions["hold"].setEnabled(live)
        self._actions["hold"].setText("Resume" if phase is CallPhase.ON_HOLD else "Hold")
        self._actions["transfer"].setEnabled(live)
        self._actions["consult"].setEnabled(live)
