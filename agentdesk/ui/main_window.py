"""The agent desktop's main window: state and call controls on top, customers in tabs,
the call dock (screen pop and wrap-up) on the right, status along the bottom.

Plug-in API for the customer workspace (and any other pane):

* ``workspace_tabs`` — the central :class:`QTabWidget`, one tab per open customer.
* ``set_customer_view_factory(factory)`` — ``factory(customer_id, from_call) -> QWidget``
  builds the tab ``open_customer`` shows; the default is a :class:`CustomerCardView`.
* ``open_customer(customer_id, *, caller=False, title=None) -> QWidget`` — focus the
  customer's tab, creating it with the factory if needed. ``caller=True`` marks it as
  the current caller's (and never pulls focus from text being typed).
* ``add_dock(name, title, widget, area=Right, tabify_with=None) -> QDockWidget`` — a dock in the
  right column is tabbed with the call dock (which a call brings to the front) and gets a
  button on the utility strip.

Layout for 1366×768 first: with no call the right column collapses to the *utility strip*
(a slim vertical bar with one toggle per right-hand pane: Call, My tickets, My team …), so
the customer gets the width; an offer expands the call pane, and it collapses again once
the call and its wrap-up are over.
* Signals ``search_requested(str)`` (the pop's search box, pre-filled with the caller's
  number), ``new_customer_requested(str)`` (quick new customer with that number) —
  connect a search pane / customer form to them.
* ``request_dial(number)`` — click-to-dial from any pane; ``attach_customer_to_call(id)``
  — the agent identified the caller elsewhere (e.g. in search results).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDialog,
    QDockWidget,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QScrollArea,
    QStackedWidget,
    QTabWidget,
    QTextEdit,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from agentdesk.client.transfer_directory import DirectorySource
from agentdesk.services.crm.caller_match import CustomerCard
from agentdesk.services.crm.quick_customer import QuickCustomer
from agentdesk.services.desk.pop_latency import PopLatencyRecorder
from agentdesk.services.desk.screen_pop import CallChange, CallPhase, ChangeKind
from agentdesk.services.desk.wrapup import WrapUpContext
from agentdesk.ui import format as fmt
from agentdesk.ui.agent_state_bar import AgentStateBar
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.call_controls import CallControls, CallTimerLabel
from agentdesk.ui.call_dialogs import DialDialog, TransferDialog
from agentdesk.ui.call_keys import CallKeyForwarder
from agentdesk.ui.customer_card import CustomerCardView
from agentdesk.ui.desk_controller import DeskController, PopContent
from agentdesk.ui.desk_theme import follow_system_scheme
from agentdesk.ui.layout_memory import (
    refit_when_framed,
    restore_geometry,
    restore_state,
    save_layout,
)
from agentdesk.ui.quick_customer import QuickCustomerDialog
from agentdesk.ui.screen_pop import ScreenPopView
from agentdesk.ui.shell_widgets import NoticeBanner, WorkspaceTabs, scrolling
from agentdesk.ui.shortcuts import ShortcutsDialog, build_actions
from agentdesk.ui.status_bar import DeskStatusBar, StatusSource
from agentdesk.ui.tray import TrayNotifier, app_icon
from agentdesk.ui.wrapup import WrapUpForm

CustomerViewFactory = Callable[[uuid.UUID, bool], QWidget]
CardLoader = Callable[[uuid.UUID], CustomerCard | None]
CreateCustomer = Callable[[QuickCustomer], uuid.UUID]
CALL_DOCK_WIDTH = 470  # the pop and the wrap-up form fit in this at 1366×768
_TEXT_INPUTS = (QLineEdit, QTextEdit, QPlainTextEdit, QAbstractSpinBox)


class MainWindow(QMainWindow):
    """The agent desktop shell; see the module docstring for the plug-in API."""

    search_requested = Signal(str)
    new_customer_requested = Signal(str)
    customer_opened = Signal(object, bool)  # customer id, from a call
    closed = Signal()  # the window really closed (open wrap-ups saved)

    def __init__(
        self,
        controller: DeskController,
        bridge: Bridge,
        recorder: PopLatencyRecorder,
        *,
        card_loader: CardLoader | None = None,
        create_customer: CreateCustomer | None = None,
        status_source: StatusSource | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.controller, self._bridge, self._card_loader = controller, bridge, card_loader
        self._create_customer = create_customer
        agent = controller.agent
        self.setWindowTitle(
            f"agentdesk — {fmt.display_text(agent.display_name)} ({controller.interface})"
        )
        self.setWindowIcon(app_icon())
        self.setObjectName("mainWindow")
        self.actions_by_id = build_actions(self)
        for action in self.actions_by_id.values():
            self.addAction(action)
        self.call_keys = CallKeyForwarder(self, self.actions_by_id)  # F2… inside dialogs too
        # Colleagues and queues for the transfer dialog, asked of the server (set in app.py).
        self.transfer_directory: DirectorySource | None = None
        self._factory: CustomerViewFactory = self._default_customer_view
        self._customer_tabs: dict[uuid.UUID, QWidget] = {}
        self._docks: dict[str, QDockWidget] = {}
        self.workspace_tabs = WorkspaceTabs(self)
        self.workspace_tabs.setObjectName("workspaceTabs")
        self.workspace_tabs.setTabsClosable(True)
        self.workspace_tabs.setDocumentMode(True)
        self.workspace_tabs.tabCloseRequested.connect(self._on_tab_close_requested)
        self.banner = NoticeBanner(self)
        central = QWidget(self)
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.banner)
        self.empty_state = QLabel(
            "No customer open.\n\nWhen you answer a call the caller's customer opens here.\n"
            "Ctrl+K searches customers and tickets; F1 lists every shortcut.",
            self,
        )
        self.empty_state.setObjectName("emptyState")
        self.empty_state.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.center = QStackedWidget(self)
        # An explicit minimum: a wide customer view must not push the window off a 1366 px
        # screen; it gets a scroll bar or a narrower layout instead.
        self.center.setMinimumSize(420, 240)
        self.center.addWidget(self.empty_state)
        self.center.addWidget(self.workspace_tabs)
        self.workspace_tabs.count_changed.connect(
            lambda count: self.center.setCurrentIndex(1 if count else 0)
        )
        column.addWidget(self.center, 1)
        self.setCentralWidget(central)
        policy = controller.state_machine.policy
        self.pop = ScreenPopView(recorder, self)
        self.wrapup = WrapUpForm(controller.wrapups, policy, self)
        self.call_tabs = QTabWidget(self)
        self.call_tabs.setObjectName("callTabs")
        # Scroll areas: the pages' natural height must not force the window past the screen.
        self.call_tabs.addTab(scrolling(self.pop, self), "&Call")
        self.call_tabs.addTab(scrolling(self.wrapup, self), "&Wrap-up")
        self.utility = QToolBar("Panes", self)
        self.utility.setObjectName("utilityStrip")
        self.utility.setMovable(False)
        self.utility.setFloatable(False)
        self.utility.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.addToolBar(Qt.ToolBarArea.RightToolBarArea, self.utility)
        self.call_dock = self.add_dock("callDock", "Call", self.call_tabs)
        self.call_dock.setMinimumWidth(CALL_DOCK_WIDTH)
        self.state_bar = AgentStateBar(controller, policy, self.actions_by_id, self)
        self.call_timer = CallTimerLabel(controller, self)
        self.call_controls = CallControls(controller, self.actions_by_id)
        self._build_toolbar()
        self.status = DeskStatusBar(bridge, recorder, status_source, self)
        self.setStatusBar(self.status)
        self.tray = TrayNotifier(self, self)
        self._closing = False
        self._warmed = False
        self._open_after_paint: tuple[str, uuid.UUID, str] | None = None
        self.dialog: QDialog | None = None  # the last small dialog opened (dial, transfer, help)
        self.close_question: QMessageBox | None = None  # "Wrap-up still open": save or keep
        self._connect_signals()
        follow_system_scheme(self)  # light or dark desk.qss, switching with the system
        self.resize(1366, 768)
        # Dock state waits for the first show: panes are added later.
        self._centred = not restore_geometry(self)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Agent", self)
        bar.setObjectName("agentToolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        bar.addWidget(self.state_bar)
        bar.addSeparator()
        for key in ("answer", "hold", "hangup", "transfer", "consult", "dial"):
            bar.addAction(self.actions_by_id[key])
        bar.addWidget(self.call_timer)
        bar.addSeparator()
        bar.addAction(self.actions_by_id["shortcuts"])
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar

    def _connect_signals(self) -> None:
        c, a = self.controller, self.actions_by_id
        c.pop_shown.connect(self._on_controller_pop_shown)
        c.pop_dismissed.connect(self._on_controller_pop_dismissed)
        c.call_changed.connect(self._on_controller_call_changed)
        c.notice.connect(self.status.show_notice)
        c.wrapups.started.connect(self._on_wrapups_started)
        c.wrapups.finished.connect(self._on_wrapups_finished)
        c.link.link_changed.connect(self.status.set_pbx)
        self.pop.customer_chosen.connect(c.choose_customer)
        self.pop.open_customer_requested.connect(lambda cid: self.open_customer(cid, caller=True))
        self.pop.search_requested.connect(self.search_requested)
        self.pop.new_customer_requested.connect(self.new_customer_requested)
        if self._create_customer is not None:
            self.new_customer_requested.connect(self.new_customer_for_call)
        self.pop.dial_requested.connect(self.request_dial)
        self.pop.pop_painted.connect(self._on_pop_painted)
        a["transfer"].triggered.connect(lambda: self._transfer(attended=False))
        a["consult"].triggered.connect(lambda: self._transfer(attended=True))
        a["dial"].triggered.connect(lambda: self.request_dial(""))
        a["wrapup"].triggered.connect(self.wrapup.save)
        a["focus_pop"].triggered.connect(self._focus_pop)
        a["not_ready"].triggered.connect(lambda: self.state_bar.menu_button.showMenu())
        a["shortcuts"].triggered.connect(self.show_shortcuts)

    # ------------------------------------------------------------------ plug-in API
    def set_customer_view_factory(self, factory: CustomerViewFactory) -> None:
        """Replace the default customer tab (a card) with a richer workspace view."""
        self._factory = factory

    def open_customer(
        self, customer_id: uuid.UUID, *, caller: bool = False, title: str | None = None
    ) -> QWidget:
        widget = self._customer_tabs.get(customer_id)
        if widget is None:
            widget = self._factory(customer_id, caller)
            self._customer_tabs[customer_id] = widget
            shown = fmt.tab_text(title or self._title_for(customer_id))
            index = self.workspace_tabs.addTab(widget, shown)
        else:
            index = self.workspace_tabs.indexOf(widget)
        if caller:
            self.workspace_tabs.setTabText(
                index, "☎ " + self.workspace_tabs.tabText(index).lstrip("☎ ")
            )
        if not self._typing_in(self.workspace_tabs.currentWidget()):
            self.workspace_tabs.setCurrentIndex(index)
        self.customer_opened.emit(customer_id, caller)
        return widget

    def add_dock(
        self,
        name: str,
        title: str,
        widget: QWidget,
        area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
        tabify_with: str | None = None,
    ) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        if area == Qt.DockWidgetArea.RightDockWidgetArea:
            toggle = dock.toggleViewAction()
            toggle.setText(title)
            toggle.setToolTip(f"Show or hide {title}")
            self.utility.addAction(toggle)
        if tabify_with is None and area == Qt.DockWidgetArea.RightDockWidgetArea and self._docks:
            # Panes share the right column with the call dock as tabs; a call raises its tab.
            tabify_with = "callDock"
        if tabify_with and tabify_with in self._docks:
            self.tabifyDockWidget(self._docks[tabify_with], dock)
            self._docks["callDock"].raise_()
        self._docks[name] = dock
        return dock

    def request_dial(self, number: str) -> None:
        # Non-blocking dialogs (open, not exec): PBX events keep flowing while one is up.
        dialog = DialDialog(number, self)
        dialog.accepted.connect(lambda: self.controller.dial(dialog.number))
        dialog.open()
        self.dialog = dialog

    def attach_customer_to_call(self, customer_id: uuid.UUID) -> None:
        content = self.pop.content
        if content is not None:
            self.controller.choose_customer(content.linkedid, customer_id)

    def new_customer_for_call(self, number: str) -> None:
        """Quick "new customer" from an unknown caller: create, attach to the call, open."""
        if self._create_customer is None:
            return
        dialog = QuickCustomerDialog(number, self._create_customer, self._bridge, self)
        dialog.created.connect(self._on_quick_customer_created)
        dialog.open()  # window-modal, not a nested event loop: calls keep flowing
        self.quick_customer = dialog

    def _on_quick_customer_created(self, customer_id: uuid.UUID) -> None:
        self.attach_customer_to_call(customer_id)
        self.open_customer(customer_id, caller=True, title=self.quick_customer.display_name)

    def show_shortcuts(self) -> None:
        dialog = ShortcutsDialog(self)
        dialog.open()
        self.dialog = dialog

    # ------------------------------------------------------------------ controller signals
    def _on_controller_pop_shown(self, pop: PopContent) -> None:
        first = self.pop.content is None or self.pop.content.linkedid != pop.linkedid
        self.pop.show_pop(pop)
        if first:
            self._expand_call_area()
            if self.call_tabs.currentIndex() != 0 and not self._typing_in(
                self.call_tabs.currentWidget()
            ):
                self.call_tabs.setCurrentIndex(0)
            card = pop.match.card
            who = card.summary.display_name if card else pop.match.number.display
            if pop.call.phase is CallPhase.RINGING:  # not a call taken back after a restart
                self.tray.notify_if_hidden("Incoming call", f"{who} · {pop.call.queue or ''}")

    def _on_controller_pop_dismissed(self, linkedid: str, reason: str) -> None:
        if linkedid in self.pop.entries:
            self.pop.remove(linkedid)  # that call's entry only: another call stays on screen
            self.status.show_notice("info", f"Call withdrawn: {reason}.")
        self._collapse_when_idle()

    def _on_controller_call_changed(self, change: CallChange) -> None:
        pop = self.controller.pops.get(change.call.linkedid)
        if pop is not None and pop is not self.pop.content:
            self.pop.show_pop(pop)
        if change.kind in (ChangeKind.ENDED, ChangeKind.DISMISSED):
            QTimer.singleShot(0, self._collapse_when_idle)  # after the wrap-up has opened
        if change.kind is ChangeKind.CONNECTED and pop is not None and pop.chosen is not None:
            if self.pop.paint_pending:
                # Answered before the pop was even painted (auto-answer): the pop goes first,
                # the customer's (heavier) workspace right after it.
                self._open_after_paint = (pop.linkedid, pop.chosen, self._pop_title(pop))
            else:
                self.open_customer(pop.chosen, caller=True, title=self._pop_title(pop))

    def _on_pop_painted(self, linkedid: str, _ms: float) -> None:
        self.status.refresh_latency()
        waiting, self._open_after_paint = self._open_after_paint, None
        if waiting is not None and waiting[0] == linkedid:
            self.open_customer(waiting[1], caller=True, title=waiting[2])

    def _on_wrapups_started(self, ctx: WrapUpContext) -> None:
        self.pop.remove(ctx.call.linkedid)
        self._expand_call_area()  # the form must be in sight, even if the agent hid the pane
        if not self._typing_in(self.call_tabs.currentWidget()):
            self.call_tabs.setCurrentIndex(1)

    def _on_wrapups_finished(self, _linkedid: str, _next: object) -> None:
        if self._closing and not self.controller.wrapups.pending():
            self.close()
            return
        self._collapse_when_idle()

    # ------------------------------------------------------------------ call area
    def call_active(self) -> bool:
        """A call rings or is up, a pop is on screen, or a wrap-up is still open."""
        return (
            self.controller.current_call() is not None
            or self.pop.content is not None
            or bool(self.controller.wrapups.pending())
        )

    def _collapse_when_idle(self) -> None:
        """No call left: give the width back to the customer (the strip stays)."""
        if self._closing or self.call_active() or not self.call_dock.isVisible():
            return
        if self._typing_in(self.call_dock):
            return  # never pull the pane from under the agent's typing
        self.call_dock.hide()

    def _expand_call_area(self) -> None:
        if not self.call_dock.isVisible():
            self.call_dock.show()
            width = max(CALL_DOCK_WIDTH, int(self.width() * 0.34))
            self.resizeDocks([self.call_dock], [width], Qt.Orientation.Horizontal)
        self.call_dock.raise_()  # in front of tabbed panes; raising does not take focus

    # ------------------------------------------------------------------ internals
    def _focus_pop(self) -> None:
        self._expand_call_area()
        self.call_tabs.setCurrentIndex(0)
        self.pop.take_focus()

    def _transfer(self, *, attended: bool) -> None:
        dialog = TransferDialog(
            self.controller.queues, attended=attended, parent=self,
            source=self.transfer_directory, bridge=self._bridge,
        )  # fmt: skip
        dialog.accepted.connect(lambda: self.controller.transfer(dialog.target, attended=attended))
        dialog.open()
        self.dialog = dialog

    def _title_for(self, customer_id: uuid.UUID) -> str:
        for pop in self.controller.pops.values():
            if pop.match.card and pop.match.card.summary.id == customer_id:
                return self._pop_title(pop)
            for candidate in pop.match.candidates:
                if candidate.id == customer_id:
                    return candidate.display_name
        return "Customer"

    @staticmethod
    def _pop_title(pop: PopContent) -> str:
        return pop.match.card.summary.display_name if pop.match.card else "Caller"

    @staticmethod
    def _typing_in(container: QWidget | None) -> bool:
        """True when the keyboard focus is in a text input inside ``container``."""
        focus = QApplication.focusWidget()
        if container is None or focus is None or not container.isAncestorOf(focus):
            return False
        return isinstance(focus, _TEXT_INPUTS) or (
            isinstance(focus, QComboBox) and focus.isEditable()
        )

    def _default_customer_view(self, customer_id: uuid.UUID, _from_call: bool) -> QWidget:
        view = CustomerCardView(open_button=False)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(view)
        if self._card_loader is not None:

            def show(card: CustomerCard | None) -> None:
                if card is not None:
                    view.show_card(card)

            self._bridge.submit(self._card_loader, customer_id, lane="central", on_done=show)
        return scroll

    def _ask_before_closing(self) -> None:
        if isinstance(self.close_question, QMessageBox) and self.close_question.isVisible():
            self.close_question.raise_()
            return
        count = len(self.controller.wrapups.pending())
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Wrap-up still open")
        box.setText(
            "A wrap-up is still open." if count == 1 else f"{count} wrap-ups are still open."
        )
        box.setInformativeText(
            "Save it as it stands and close agentdesk, or keep working on it?"
            if count == 1
            else "Save them as they stand and close agentdesk, or keep working on them?"
        )
        save = box.addButton("&Save and close", QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton("&Keep working", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)  # Enter by habit must not file a half-written wrap-up
        box.setEscapeButton(keep)
        save.clicked.connect(lambda: self.close())  # a close from code: saves, then closes
        keep.clicked.connect(self._back_to_wrap_up)
        box.open()
        self.close_question = box

    def _back_to_wrap_up(self) -> None:
        self._expand_call_area()
        self.call_tabs.setCurrentIndex(1)
        self.wrapup.notes.setFocus()

    def _on_tab_close_requested(self, index: int) -> None:
        widget = self.workspace_tabs.widget(index)
        for cid, tab in list(self._customer_tabs.items()):
            if tab is widget:
                del self._customer_tabs[cid]
        self.workspace_tabs.removeTab(index)
        if widget is not None:
            widget.deleteLater()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._warmed:
            self._warmed = True
            if self._centred:
                refit_when_framed(self)  # the frame the window manager really draws
            restore_state(self)
            self._collapse_when_idle()  # a new day starts without a call: the strip only
            QTimer.singleShot(0, self.pop.warm_up)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closing and event.spontaneous() and self.controller.wrapups.pending():
            # The agent closed the window mid wrap-up: ask, never file it behind their back.
            # (A close from code — quit-after, SIGTERM at logout — saves as it stands.)
            event.ignore()
            self._ask_before_closing()
            return
        if not self._closing:
            self._closing = True
            self.controller.prepare_to_close()  # no new call may ring a closing desktop
        if self.controller.wrapups.pending():
            # Never lose a wrap-up: save what is there, close when the saves land.
            self.wrapup.flush_draft()  # keys typed in the last 300 ms included
            self.controller.wrapups.save_all_now()
            event.ignore()
            return
        self.tray.hide()
        save_layout(self)  # geometry, docks and splitters only: never data
        super().closeEvent(event)
        self.closed.emit()
