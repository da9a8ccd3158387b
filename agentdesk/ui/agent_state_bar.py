"""Agent state, time in state and the state menu — always visible in the toolbar.

The chip shows what the PBX last said (never what the desktop hoped); the
menu only *asks* the PBX for a change through the controller.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QToolButton, QWidget

from agentdesk.services.desk.agent_state import AgentState, MemberRow, StatePolicy, StateSnapshot
from agentdesk.ui import format as fmt
from agentdesk.ui.desk_controller import DeskController, MissedCall
from agentdesk.ui.shell_widgets import ElidedLabel

CHIP_MIN_WIDTH = 210
CHIP_MAX_WIDTH = 300  # a long not-ready reason is elided here; the time in state never is


class AgentStateBar(QWidget):
    """State chip + time in state + state menu + queue list."""

    def __init__(
        self,
        controller: DeskController,
        policy: StatePolicy,
        actions: dict[str, QAction],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._controller = controller
        self._snapshot = controller.state
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        self.chip = fmt.plain(QLabel(self))
        self.chip.setObjectName("stateChip")
        self.chip.setMinimumWidth(CHIP_MIN_WIDTH)
        self.chip.setMaximumWidth(CHIP_MAX_WIDTH)
        self.chip.setStyleSheet('#stateChip[state="missed"] { background: #b3261e; }')
        self.menu_button = QToolButton(self)
        self.menu_button.setObjectName("stateMenuButton")
        self.menu_button.setText("Change state")
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu = QMenu(self)
        self.menu.addAction(actions["available"])
        self.reason_actions: dict[str, QAction] = {}
        for reason in policy.reasons:
            if reason.code == "Auto-Pause":
                continue  # the PBX sets it; agents do not pick it
            action = self.menu.addAction(f"Not ready: {reason.label}")
            action.triggered.connect(
                lambda _c=False, code=reason.code: controller.go_not_ready(code)
            )
            self.reason_actions[reason.code] = action
        self.menu.addSeparator()
        self.login_action = self.menu.addAction("Log in to all queues")
        self.login_action.triggered.connect(lambda: controller.log_in_queues())
        self.logout_action = self.menu.addAction("Log out of all queues")
        self.logout_action.triggered.connect(controller.log_out_queues)
        self.menu_button.setMenu(self.menu)
        self.menu_button.setToolTip(
            "Available, Not ready with a reason, queue log-in "
            f"({actions['available'].shortcut().toString()} = Available)"
        )
        # After a missed call: one key (or click) back to Available, and the calls missed.
        self.go_action = actions.get("go_available")
        key = self.go_action.shortcut().toString() if self.go_action is not None else ""
        self.go_button = QToolButton(self)
        self.go_button.setObjectName("goAvailableButton")
        self.go_button.setText(f"Go available ({key})" if key else "Go available")
        self.go_button.setToolTip("Unpause every queue the PBX paused after the missed call")
        self.go_button.clicked.connect(controller.go_available)
        self.go_button.hide()
        if self.go_action is not None:
            self.go_action.triggered.connect(controller.go_available)
            self.go_action.setEnabled(False)
        self.missed_button = QToolButton(self)
        self.missed_button.setObjectName("missedCallsButton")
        self.missed_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.missed_menu = QMenu(self)
        self.missed_button.setMenu(self.missed_menu)
        self.missed_button.hide()
        controller.missed_call.connect(self._on_missed_call)
        controller.missed_calls_read_back.connect(lambda: self._on_missed_call(None))
        self.queues = ElidedLabel("", self)
        self.queues.setMaximumWidth(320)
        self.queues.setObjectName("stateQueues")
        layout.addWidget(self.chip)
        layout.addWidget(self.go_button)
        layout.addWidget(self.menu_button)
        layout.addWidget(self.missed_button)
        layout.addWidget(self.queues)
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._refresh_time)
        self._timer.start()
        controller.state_changed.connect(self._on_controller_state_changed)
        self._on_controller_state_changed(controller.state)

    def _on_controller_state_changed(self, snapshot: StateSnapshot) -> None:
        self._snapshot = snapshot
        self.chip.setProperty("state", snapshot.state.value)
        self.chip.style().unpolish(self.chip)
        self.chip.style().polish(self.chip)
        rows = snapshot.queues
        mixed = len({m.paused for m in rows}) > 1  # only then is "paused" news per queue
        names = [m.queue + (" ‖" if mixed and m.paused else "") for m in rows]
        shown = "Queues: " + ", ".join(names) if names else "In no queue"
        detail = "\n".join(_member_line(m) for m in rows)
        self.queues.setText(shown, fmt.rich_tooltip(f"{shown}\n{detail}" if detail else shown))
        offline = snapshot.state is AgentState.OFFLINE
        self.menu_button.setEnabled(not offline)
        missed = snapshot.state is AgentState.MISSED
        self.go_button.setVisible(missed)
        if self.go_action is not None:
            self.go_action.setEnabled(missed)
        self._refresh_time()

    def _refresh_time(self) -> None:
        elapsed = time.monotonic() - self._snapshot.since
        label, since = self._snapshot.label, fmt.duration(elapsed)
        # Only the label gives way: the time in state stays whole, whatever the reason says.
        metrics = self.chip.fontMetrics()
        margins = self.chip.contentsMargins()
        room = CHIP_MAX_WIDTH - margins.left() - margins.right() - 8
        room -= metrics.horizontalAdvance(f"    ·  {since}  ")
        label = metrics.elidedText(label, Qt.TextElideMode.ElideRight, max(room, 24))
        text = f"  {label}  ·  {since}  "
        self.chip.setText(text)
        # Claim the room the text needs (up to the cap): the queue list elides instead, so a
        # crowded toolbar never squeezes the time in state off the pill.
        need = metrics.horizontalAdvance(text) + margins.left() + margins.right() + 24
        self.chip.setMinimumWidth(max(CHIP_MIN_WIDTH, min(need, CHIP_MAX_WIDTH)))
        self.chip.setToolTip(
            f"{self._snapshot.label} for {fmt.duration(elapsed)} (as the PBX reports it)"
        )

    def _on_missed_call(self, _missed: MissedCall | None) -> None:
        calls = self._controller.missed_calls
        self.missed_menu.clear()
        for call in calls:
            when = call.at.astimezone().strftime("%H:%M")
            where = f" · {call.queue}" if call.queue else ""
            self.missed_menu.addAction(
                fmt.display_text(
                    f"{when} · {call.caller or 'Number withheld'}{where} · {call.reason}"
                )
            )
        self.missed_button.setText(f"Missed calls: {len(calls)}")
        self.missed_button.setToolTip("Calls that rang here and were not answered (newest first)")
        self.missed_button.setVisible(bool(calls))

    @property
    def text(self) -> str:
        return self.chip.text().strip()


def _member_line(member: MemberRow) -> str:
    if not member.paused:
        return f"{member.queue}: ready"
    return f"{member.queue}: paused" + (f" ({member.reason})" if member.reason else "")
