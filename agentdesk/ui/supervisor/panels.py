"""The wallboard's building blocks: sortable live tables and the alerts panel."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from PySide6.QtCore import QEvent, QObject, QRect, QSize, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from agentdesk.services.supervisor.alerts import Alert
from agentdesk.services.supervisor.views import (
    AgentRow,
    AgentStatus,
    BoardSnapshot,
    QueueMembership,
    QueueRow,
)
from agentdesk.ui.supervisor.columns import ALERT_COLUMNS
from agentdesk.ui.supervisor.live_model import SORT_ROLE, LiveColumn, LiveTableModel

R = TypeVar("R")


class LiveTable(QTableView):
    """A read-only, sortable view over a :class:`LiveTableModel` (through a proxy)."""

    def __init__(self, model: LiveTableModel[Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = model
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        self.setModel(self.proxy)
        self.setSortingEnabled(True)
        self.setAlternatingRowColors(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        self.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self._selected_key: Hashable | None = None
        self.selectionModel().selectionChanged.connect(self._on_selection_changed)
        model.rows_set.connect(self._on_source_rows_set)
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)

    def _on_selection_changed(self, *_args: object) -> None:
        if self.source.updating:
            return  # a row moved or vanished under the selection: not the user's choice
        row = self.selected_row()
        self._selected_key = self.source.key_of(row) if row is not None else None

    def _on_source_rows_set(self) -> None:
        """Keep the user's row selected however the rows moved."""
        if self._selected_key is None:
            return
        row = self.selected_row()
        if row is not None and self.source.key_of(row) == self._selected_key:
            return
        found = self.source.find_key(self._selected_key)
        if found is None:
            self.clearSelection()
            return
        index = self.proxy.mapFromSource(self.source.index(found, 0))
        self.selectRow(index.row())

    def tick(self, now: float) -> None:
        """Advance the clock columns of the rows on screen only.

        Time-in-state sorts by when the state began (constant), so rows off
        screen need no new text until they scroll in, which ticks them at once.
        """
        self.source.tick(now, self.visible_source_rows())

    def visible_source_rows(self) -> list[int]:
        first = self.rowAt(0)
        if first < 0:
            return []
        last = self.rowAt(self.viewport().height() - 1)
        last = self.proxy.rowCount() - 1 if last < 0 else last
        return [
            self.proxy.mapToSource(self.proxy.index(row, 0)).row() for row in range(first, last + 1)
        ]

    def _on_scrolled(self, _value: int) -> None:
        self.source.tick(self.source.now, self.visible_source_rows())

    def selected_row(self) -> Any:
        """The frozen row behind the selection (None when nothing is selected)."""
        indexes = self.selectionModel().selectedRows()
        if not indexes:
            return None
        return self.source.row_at(self.proxy.mapToSource(indexes[0]).row())

    def select_key(self, column: int, text: str) -> bool:
        """Select the first row whose ``column`` shows ``text`` (tests, keyboard jumps)."""
        for row in range(self.proxy.rowCount()):
            if self.proxy.index(row, column).data() == text:
                self.selectRow(row)
                return True
        return False

    def show_only(self, titles: Sequence[str] | None) -> None:
        """Hide every column not in ``titles`` (None shows them all)."""
        for index, column in enumerate(self.source.columns):
            self.setColumnHidden(index, titles is not None and column.title not in titles)


def live_table(
    columns: Sequence[LiveColumn[R]], key: Any, parent: QWidget | None = None
) -> LiveTable:
    model: LiveTableModel[R] = LiveTableModel(columns, key)
    table = LiveTable(model, parent)
    model.setParent(table)
    return table


_RESTYLED = (QEvent.Type.FontChange, QEvent.Type.StyleChange, QEvent.Type.ContentsRectChange)


class SteadyLabel(QWidget):
    """Word-wrapped text that changes every second without re-laying out the window.

    A ``QLabel`` asks its window for a new layout on every ``setText`` (its size
    hint may have changed): for the wallboard's header figures and why-callers-wait
    line, ticking once a second and changing with each snapshot, that relayout cost
    more than the tables' updates. Here the label sits in a box of fixed height
    with no layout of its own, so a new text repaints the box and asks for a
    relayout only when it needs another number of lines.
    """

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # data, never markup
        self.label.setObjectName(name)
        self.label.setWordWrap(True)
        self.label.installEventFilter(self)  # a style sheet's font reaches the label
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(self.label.sizeHint().height())

    def text(self) -> str:
        return self.label.text()

    def setText(self, text: str) -> None:
        if text != self.label.text():
            self.label.setText(text)
            self._fit()

    def setAlignment(self, alignment: Qt.AlignmentFlag) -> None:
        self.label.setAlignment(alignment)

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self.height())

    def sizeHint(self) -> QSize:
        return QSize(self.label.sizeHint().width(), self.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.label.setGeometry(self.rect())
        self._fit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.label and event.type() in _RESTYLED:
            self._fit()  # the wall screen's large type needs more height
        return False

    def _fit(self) -> None:
        height = max(1, self.label.heightForWidth(max(1, self.width())))
        if height != self.height():
            self.setFixedHeight(height)


def _alert_key(alert: Alert) -> Hashable:
    return alert.id


class AlertsPanel(QWidget):
    """Active alerts, newest and unacknowledged first, with an Acknowledge button."""

    acknowledge_requested = Signal(str)  # alert id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Alerts", self)
        self.title.setObjectName("panelTitle")
        self.table = live_table(ALERT_COLUMNS, _alert_key, self)
        self.table.setSortingEnabled(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.acknowledge = QPushButton("Acknowledge", self)
        self.acknowledge.setEnabled(False)
        self.acknowledge.setToolTip("record that you have seen this alert (you and the time)")
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.acknowledge)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table)
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.acknowledge.clicked.connect(self._on_acknowledge_clicked)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)

    @property
    def model(self) -> LiveTableModel[Alert]:
        return self.table.source

    def set_alerts(self, alerts: tuple[Alert, ...], now: float) -> None:
        self.model.set_rows(alerts, now)
        open_count = sum(1 for a in alerts if not a.acknowledged)
        self.title.setText(f"Alerts ({open_count} open)" if alerts else "Alerts: none")
        self._on_selection_changed()

    def _on_selection_changed(self, *_args: object) -> None:
        alert = self.table.selected_row()
        self.acknowledge.setEnabled(alert is not None and not alert.acknowledged)

    def _on_acknowledge_clicked(self) -> None:
        alert = self.table.selected_row()
        if alert is not None and not alert.acknowledged:
            self.acknowledge_requested.emit(alert.id)


# ---------------------------------------------------------------------- why callers wait
_BUSY = frozenset({AgentStatus.ON_CALL, AgentStatus.ON_HOLD, AgentStatus.RINGING,
                   AgentStatus.WRAP_UP})  # fmt: skip


def _paused_in(agent: AgentRow, member: QueueMembership) -> bool:
    return member.paused or agent.status is AgentStatus.PAUSED


def _count(what: str, n: int) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


_Member = tuple[AgentRow, QueueMembership]


@dataclass(slots=True)
class _Tally:
    """One queue's logged-in members, counted in one pass (see :func:`_tally`)."""

    members: int = 0
    lowest: int | None = None  # the lowest penalty of any member
    free: list[int] = field(default_factory=list)  # free members' penalties
    ringing: int = 0  # ringing with a call of this queue
    available: int = 0  # status Available, paused in the queue or not
    paused: Counter[str] = field(default_factory=Counter)  # pause reason -> members
    busy: int = 0  # on a call, on hold, ringing or in wrap-up, not paused


# Looked up once: an enum member read through its class costs ~0.1 µs in Python 3.11.
_LOGGED_OUT, _AVAILABLE, _RINGING, _PAUSED = (
    AgentStatus.LOGGED_OUT, AgentStatus.AVAILABLE, AgentStatus.RINGING, AgentStatus.PAUSED,
)  # fmt: skip


def _tally(name: str, members: Sequence[_Member]) -> _Tally:
    tally = _Tally()
    free, paused_by = tally.free, tally.paused
    lowest: int | None = None
    for agent, member in members:
        status = agent.status
        if status is _LOGGED_OUT:
            continue
        tally.members += 1
        penalty = member.penalty
        if lowest is None or penalty < lowest:
            lowest = penalty
        paused = member.paused or status is _PAUSED
        if status is _AVAILABLE:
            tally.available += 1
            if not paused:
                free.append(penalty)
        elif status is _RINGING and agent.call_queue == name:
            tally.ringing += 1
        if paused:
            paused_by[member.reason or agent.reason or "no reason"] += 1
        elif status in _BUSY:
            tally.busy += 1
    tally.lowest = lowest
    return tally


class WaitReasons:
    """Why each queue's callers wait, worked out once for one set of rows.

    The agents are indexed by queue in one pass (500 agents × their queues)
    and each queue with callers waiting counts its members in one more, so a
    500-agent floor costs about a millisecond; the sentences do not depend on
    the clock, so :meth:`lines` redraws just the longest waits as they tick.
    """

    def __init__(self, queues: Sequence[QueueRow], agents: Sequence[AgentRow]) -> None:
        self._members: dict[str, list[_Member]] = {}
        self._available_anywhere = 0  # available agents in at least one queue
        for agent in agents:
            memberships = agent.memberships
            if not memberships:
                continue
            if agent.status is _AVAILABLE:
                self._available_anywhere += 1
            if len(memberships) > 1 and len({m.queue for m in memberships}) < len(memberships):
                # The first membership of a queue is the one shown.
                memberships = tuple({m.queue: m for m in reversed(memberships)}.values())
            for member in memberships:
                self._members.setdefault(member.queue, []).append((agent, member))
        waiting = [q for q in queues if q.waiting]
        # Longest wait first; a queue without a start time goes last.
        waiting.sort(key=lambda q: q.oldest_since if q.oldest_since is not None else math.inf)
        self._waiting = [(q, self.explain(q)) for q in waiting]

    def explain(self, queue: QueueRow) -> str:
        """Why ``queue``'s callers wait, without the clock ("" when nothing explains it)."""
        name = queue.name
        tally = _tally(name, self._members.get(name, ()))
        free = tally.free
        parts: list[str] = []
        if free:
            lowest = tally.lowest
            parts.append(f"{_count('free member', len(free))} in {name}")
            if tally.ringing:
                parts.append(f"{tally.ringing} ringing now")
            if all(penalty > (lowest or 0) for penalty in free):
                parts.append(
                    f"wrong skill: every free member has a higher penalty than {lowest} "
                    "(rung only when the caller's penalty limit allows)"
                )
            elif not tally.ringing:
                parts.append("the PBX is not offering the call to them (ring strategy, "
                             "wrap-up time or the caller's penalty limit)")  # fmt: skip
        elif not tally.members:
            parts.append(f"no agent is logged in to {name}")
        else:
            parts += _unavailable(tally)
        outside = self._available_anywhere - tally.available
        if outside:
            parts.append(f"not in that queue: {outside} available in other queues only")
        return "; ".join(parts)

    def lines(self, now: float) -> list[str]:
        """One sentence per queue with a caller waiting, longest wait first."""
        return [_sentence(queue, reason, now) for queue, reason in self._waiting]


@dataclass(frozen=True)
class BoardFrame:
    """A snapshot and the figures the window shows beside its rows, worked out once.

    Built on the feed's thread as each snapshot is published, so the GUI
    thread only formats the clocks (the longest waits tick every second).
    """

    snapshot: BoardSnapshot
    reasons: WaitReasons
    states: Mapping[AgentStatus, int]  # agents per state
    staffed: int  # agents logged in to at least one queue
    waiting: int  # callers waiting in every queue
    oldest: float | None  # when the longest-waiting caller joined

    @classmethod
    def of(cls, snapshot: BoardSnapshot) -> BoardFrame:
        agents = snapshot.agents
        return cls(
            snapshot,
            WaitReasons(snapshot.queues, agents),
            Counter(a.status for a in agents),
            sum(1 for a in agents if a.memberships and a.status is not AgentStatus.LOGGED_OUT),
            sum(q.waiting for q in snapshot.queues),
            min((q.oldest_since for q in snapshot.queues if q.oldest_since), default=None),
        )


def _unavailable(tally: _Tally) -> list[str]:
    """Why nobody in a queue (none free) takes a call: paused, busy, unreachable."""
    parts: list[str] = []
    paused = sum(tally.paused.values())
    other = tally.members - paused - tally.busy
    if paused:
        detail = ", ".join(f"{r} {n}" for r, n in sorted(tally.paused.items()))
        parts.append(f"{paused} of {tally.members} members paused ({detail})")
    if tally.busy:
        parts.append(f"{tally.busy} on calls or wrap-up")
    if other > 0:
        parts.append(f"{other} unavailable (phone not reachable)")
    return parts


def _sentence(queue: QueueRow, reason: str, now: float) -> str:
    longest = f", longest {_clock(now - queue.oldest_since)}" if queue.oldest_since else ""
    head = f"{queue.name}: {queue.waiting} waiting{longest}"
    return f"{head} — {reason}" if reason else head


def why_waiting(queue: QueueRow, agents: Sequence[AgentRow], now: float) -> str:
    """One sentence: why ``queue``'s callers wait, from the agents the floor shows.

    Free members (available, not paused) with a caller waiting: the PBX is not
    offering the call to them (ring strategy, wrap-up time, a penalty the caller
    may not reach); otherwise why nobody in the queue is free (paused, with
    their reasons; busy; none logged in) and whether available agents are
    simply not members of it.
    """
    return _sentence(queue, WaitReasons((), agents).explain(queue), now)


def waiting_reasons(snapshot: BoardSnapshot, now: float) -> list[str]:
    """:func:`why_waiting` for every queue with a caller waiting (longest wait first)."""
    return WaitReasons(snapshot.queues, snapshot.agents).lines(now)


def _clock(seconds: float) -> str:
    whole = max(0, int(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


# ---------------------------------------------------------------------- windows on screen
FRAME_ALLOWANCE = QSize(12, 40)  # a window manager's frame before the first show tells us


def fit_on_screen(window: QWidget, wanted: QSize, available: QRect | None = None) -> None:
    """Size ``window`` to ``wanted`` or less so that it and its frame fit ``available``
    (the screen's work area: without panels), and place it centred there."""
    if available is None:
        screen = window.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            window.resize(wanted)
            return
        available = screen.availableGeometry()
    frame = window.frameGeometry().size() - window.geometry().size()
    if not window.isVisible() or frame.isEmpty():
        frame = FRAME_ALLOWANCE if QGuiApplication.platformName() != "offscreen" else QSize(0, 0)
    width = max(1, min(wanted.width(), available.width() - frame.width()))
    height = max(1, min(wanted.height(), available.height() - frame.height()))
    window.resize(width, height)
    size = window.size()  # a minimum size may have won
    x = available.x() + max(0, (available.width() - size.width() - frame.width()) // 2)
    y = available.y() + max(0, (available.height() - size.height() - frame.height()) // 2)
    window.move(x, y)


class _RefitOnFirstShow(QObject):
    """Fits its window once more right after it is first shown (when its frame is known)."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window and event.type() == QEvent.Type.Show:
            self._window.removeEventFilter(self)
            QTimer.singleShot(0, self, self._refit)  # not after the window is gone
        return False

    def _refit(self) -> None:
        fit_on_screen(self._window, self._window.size())
        self.deleteLater()


def place_on_screen(window: QWidget, wanted: QSize) -> None:
    """:func:`fit_on_screen` now, and again once shown, with the window manager's frame."""
    fit_on_screen(window, wanted)
    window.installEventFilter(_RefitOnFirstShow(window))
