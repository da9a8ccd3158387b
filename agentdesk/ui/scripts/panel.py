"""The Script tab beside a call: one step at a time, its input, Back/Next, the path so far
and the identity check.

Thin over :class:`~agentdesk.services.scripts.calls.CallScripts`: every move asks
the Qt-free run and shows the run it returns; a refusal (an answer of the wrong
type, an unverified caller at a mandatory ID&V step) is a sentence under the step,
and nothing typed is lost. Keyboard: Enter in an answer = Next; Alt+B / Alt+X (Alt+N is
the workspace's Add note); Space picks an answer or an ID&V result (which records the
check with the method shown); Tab moves through the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from agentdesk.services.scripts.calls import CallScripts
from agentdesk.services.scripts.engine import (
    IdvCheck,
    ScriptMoveError,
    ScriptRun,
    idv_words,
)
from agentdesk.services.scripts.model import (
    AGENT_IDV_RESULTS,
    IDV_METHODS,
    AnswerType,
    Step,
    StepKind,
)
from agentdesk.ui import format as fmt

RESTORED = "The script is where you left it before the desktop closed, answers and all."
NO_CALL = "No call yet. When a call comes in, the script for the caller's topic opens here."
_KIND_WORDS = {
    StepKind.SAY: "Say",
    StepKind.IDV: "Identity check",
    StepKind.QUESTION: "Ask",
    StepKind.CLOSE: "Closing",
}
_PLACEHOLDERS = {
    AnswerType.TEXT: "Type the caller's answer",
    AnswerType.NUMBER: "A number",
    AnswerType.DATE: "Year-month-day, e.g. 2026-11-30",
}


@dataclass(frozen=True)
class ScriptCall:
    """The call the tab follows: its id, IVR intent and the IVR's identity check."""

    linkedid: str
    intent: str | None
    ivr_idv: IdvCheck


class ScriptPanel(QWidget):
    """Shows and drives the current call's script run (see the module docstring)."""

    run_changed = Signal(object)  # the ScriptRun now shown

    def __init__(self, scripts: CallScripts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scripts = scripts
        self._call: ScriptCall | None = None
        self.picker = QComboBox(self)
        self.picker.setObjectName("scriptPicker")
        for script in scripts.catalogue.scripts:
            self.picker.addItem(f"{script.title} (version {script.version})", script.id)
        self.heading = fmt.plain(QLabel(NO_CALL, self))
        self.heading.setWordWrap(True)
        self.path = fmt.plain(QLabel("", self))
        self.path.setWordWrap(True)
        self.path.setObjectName("scriptPath")
        self.step_title = fmt.plain(QLabel("", self))
        self.step_title.setObjectName("scriptStepTitle")
        bold = self.step_title.font()
        bold.setBold(True)
        self.step_title.setFont(bold)
        self.step_text = fmt.plain(QLabel("", self))
        self.step_text.setWordWrap(True)
        self.entry = QLineEdit(self)
        self.entry.setMaxLength(1_000)
        self.options = QWidget(self)
        self._options_layout = QVBoxLayout(self.options)
        self._options_layout.setContentsMargins(0, 0, 0, 0)
        self.option_group = QButtonGroup(self)
        self.idv_box = QGroupBox("Identity and verification", self)
        self.ivr_result = fmt.plain(QLabel("", self.idv_box))
        self.ivr_result.setWordWrap(True)
        self.agent_result = fmt.plain(QLabel("", self.idv_box))
        self.agent_result.setWordWrap(True)
        self.method = QComboBox(self.idv_box)
        self.result_group = QButtonGroup(self)
        self.result_buttons = {
            code: QRadioButton(label, self.idv_box) for code, label in AGENT_IDV_RESULTS.items()
        }
        self.message = fmt.plain(QLabel("", self))
        self.message.setWordWrap(True)
        self.message.setObjectName("scriptMessage")
        self.message.setFont(bold)  # a refusal must not read as part of the step's text
        self.back = QPushButton("◀ &Back", self)
        self.next = QPushButton("Ne&xt ▶", self)
        self._layout()
        self._connect_signals()
        self._show(None)

    def _layout(self) -> None:
        top = QFormLayout()
        label = QLabel("Scrip&t:", self)
        label.setBuddy(self.picker)
        top.addRow(label, self.picker)
        idv = self._idv_form = QFormLayout(self.idv_box)
        idv.addRow("IVR:", self.ivr_result)
        idv.addRow("Agent:", self.agent_result)
        method_label = QLabel("&Method:", self.idv_box)
        method_label.setBuddy(self.method)
        idv.addRow(method_label, self.method)
        results = QHBoxLayout()
        for button in self.result_buttons.values():
            self.result_group.addButton(button)
            results.addWidget(button)
        results.addStretch(1)
        idv.addRow("Result:", results)
        buttons = QHBoxLayout()
        buttons.addWidget(self.back)
        buttons.addStretch(1)
        buttons.addWidget(self.next)
        column = QVBoxLayout(self)
        column.addLayout(top)
        column.addWidget(self.heading)
        column.addWidget(self.path)
        column.addWidget(self.step_title)
        column.addWidget(self.step_text)
        column.addWidget(self.entry)
        column.addWidget(self.options)
        column.addWidget(self.idv_box)
        column.addWidget(self.message)
        column.addLayout(buttons)
        column.addStretch(1)

    def _connect_signals(self) -> None:
        self.picker.activated.connect(self._on_picker_activated)
        self.next.clicked.connect(self.go_next)
        self.back.clicked.connect(self.go_back)
        self.entry.returnPressed.connect(self.go_next)
        # Picking the result records the check (with the method shown); so does changing
        # the method after a result was picked.
        self.result_group.buttonClicked.connect(lambda _button: self.record_check())
        self.method.activated.connect(self._on_method_activated)

    # ------------------------------------------------------------------ public
    @property
    def run(self) -> ScriptRun | None:
        return self._scripts.run(self._call.linkedid) if self._call else None

    def show_call(self, call: ScriptCall) -> None:
        """Follow ``call``: its run (started from its IVR intent the first time)."""
        if self._call is not None and self._call.linkedid != call.linkedid:
            self._keep_typed()
        kept = self._scripts.run(call.linkedid)
        back = kept is not None and (self._call is None or self._call.linkedid != call.linkedid)
        self._call = call
        run = self._scripts.start(call.linkedid, call.intent, call.ivr_idv)
        if run is None:
            self.message.setText("No script for this call's topic: pick one above.")
        self._show(run, fresh=True)
        if back and run is not None and (run.history or run.answers):
            self.message.setText(RESTORED)

    def runs_restored(self, linkedids: list[str]) -> None:
        """Runs kept before the desktop closed are back: show the call's, if it is one."""
        if self._call is not None and self._call.linkedid in linkedids:
            self._show(self.run, fresh=True)
            self.message.setText(RESTORED)

    def call_saved(self, linkedid: str) -> None:
        """The call's wrap-up is filed (with the script), or it rang out unanswered: the
        tab lets it go."""
        self._scripts.drop(linkedid)
        if self._call is not None and self._call.linkedid == linkedid:
            self._call = None
            self._show(None)

    def go_next(self) -> None:
        run = self.run
        if run is None:
            return
        try:
            run = self._with_typed(run)
            self._move(run.next())
        except ScriptMoveError as exc:
            self._refuse(str(exc))

    def go_back(self) -> None:
        run = self.run
        if run is None:
            return
        try:
            self._move(self._keep_typed(run).back())
        except ScriptMoveError as exc:
            self._refuse(str(exc))

    def record_check(self) -> None:
        run, button = self.run, self.result_group.checkedButton()
        if run is None:
            return
        result = next((c for c, b in self.result_buttons.items() if b is button), "")
        try:
            self._move(run.verify(str(self.method.currentData() or ""), result), fresh=False)
        except ScriptMoveError as exc:
            self._refuse(str(exc))

    # ------------------------------------------------------------------ internals
    def _on_method_activated(self, _index: int) -> None:
        if self.result_group.checkedButton() is not None:
            self.record_check()

    def _on_picker_activated(self, index: int) -> None:
        if self._call is None:
            self.message.setText("No call to run a script on yet.")
            return
        self._keep_typed()
        script_id = str(self.picker.itemData(index))
        run = self._scripts.switch(self._call.linkedid, script_id, self._call.ivr_idv)
        self._show(run, fresh=True)

    def _move(self, run: ScriptRun, *, fresh: bool = True) -> None:
        assert self._call is not None
        self._scripts.put(self._call.linkedid, run)
        self._show(run, fresh=fresh)

    def _refuse(self, text: str) -> None:
        self.message.setText(text)
        widget = self.entry if self.entry.isVisible() else self.method
        if widget.isVisible() and widget.isEnabled():
            self._focus(widget)

    def _typed(self, step: Step) -> str | None:
        """What the input holds for ``step`` (None: nothing picked on a choice)."""
        if step.answer_type in (AnswerType.YES_NO, AnswerType.CHOICE):
            button = self.option_group.checkedButton()
            return None if button is None else str(button.property("value"))
        return self.entry.text()

    def _with_typed(self, run: ScriptRun) -> ScriptRun:
        step = run.step
        if step.kind is not StepKind.QUESTION:
            return run
        typed = self._typed(step)
        if typed is None:
            return run  # nothing picked: Next says what is missing
        return run.answer(typed)

    def _keep_typed(self, run: ScriptRun | None = None) -> ScriptRun:
        """Keep a valid answer typed on the current step (leaving it by Back or a switch)."""
        run = run or self.run
        if run is None or self._call is None:
            raise ScriptMoveError("No script is running.")
        try:
            kept = self._with_typed(run)
        except ScriptMoveError:
            return run
        return self._scripts.put(self._call.linkedid, kept)

    def _show(self, run: ScriptRun | None, *, fresh: bool = True) -> None:
        if fresh:
            self.message.clear()
        has_run = run is not None
        for widget in (self.path, self.step_title, self.step_text, self.idv_box):
            widget.setVisible(has_run)
        self.back.setEnabled(has_run and bool(run and run.history))
        self.next.setEnabled(has_run and not (run and run.finished))
        self.picker.setEnabled(self._call is not None)
        if run is None:
            self.heading.setText(NO_CALL if self._call is None else "")
            self.entry.hide()
            self.options.hide()
            self.run_changed.emit(None)
            return
        self.picker.setCurrentIndex(self.picker.findData(run.script.id))
        number = len(run.history) + 1
        self.heading.setText(f"{run.script.title} · step {number}")
        self.path.setText(self._path_text(run))
        self.path.setVisible(bool(run.history))
        step = run.step
        self.step_title.setText(_KIND_WORDS[step.kind])
        self.step_text.setText(step.text)
        self._show_input(run, step, fresh=fresh)
        self._show_idv(run, step)
        if run.finished:
            self.message.setText("Script complete: the answers are filed with the wrap-up.")
        self.run_changed.emit(run)

    def _show_input(self, run: ScriptRun, step: Step, *, fresh: bool) -> None:
        kind = step.answer_type if step.kind is StepKind.QUESTION else None
        answer = run.answer_to(step.id)
        choices = kind in (AnswerType.YES_NO, AnswerType.CHOICE)
        self.entry.setVisible(kind is not None and not choices)
        self.options.setVisible(choices)
        if kind is not None and not choices and fresh:
            self.entry.setPlaceholderText(_PLACEHOLDERS[kind])
            self.entry.setText(answer.value if answer else "")
            self._focus(self.entry)
        if choices and fresh:
            self._build_options(step, answer.value if answer else None)
        if kind is None and fresh:
            self._focus(self.next)

    def focus_input(self) -> None:
        """The agent came to the tab (Alt+S): the keys go to the step's input."""
        for widget in (self.entry, self.option_group.checkedButton(), self.method, self.next):
            if widget is not None and widget.isVisible() and widget.isEnabled():
                widget.setFocus()
                return

    def _focus(self, widget: QWidget) -> None:
        """Move the keyboard focus within the panel only while the agent works in it: a
        new call's script must never take the keys from what they are typing elsewhere."""
        current = QApplication.focusWidget()
        if current is not None and (current is self or self.isAncestorOf(current)):
            widget.setFocus()

    def _build_options(self, step: Step, chosen: str | None) -> None:
        for button in self.option_group.buttons():
            self.option_group.removeButton(button)
            self._options_layout.removeWidget(button)
            button.hide()
            button.deleteLater()
        for value, label in step.choices:
            button = QRadioButton(fmt.display_text(label), self.options)
            button.setProperty("value", value)
            button.setChecked(value == chosen)
            self.option_group.addButton(button)
            self._options_layout.addWidget(button)
            button.show()  # now, not on the layout's queued show: the agent may press at once
        self._options_layout.activate()
        first = self.option_group.checkedButton() or self.option_group.buttons()[0]
        self._focus(first)

    def _show_idv(self, run: ScriptRun, step: Step) -> None:
        self.ivr_result.setText(_sentence(idv_words(run.ivr_idv)))
        agent = run.agent_idv
        self.agent_result.setText(_sentence(idv_words(agent)) if agent else "Not checked yet")
        checking = step.kind is StepKind.IDV and not run.ivr_idv.passed
        self.method.clear()
        for code in step.methods if checking else ():
            self.method.addItem(IDV_METHODS[code], code)
        if agent is not None and agent.method is not None:
            self.method.setCurrentIndex(max(self.method.findData(agent.method), 0))
        for code, button in self.result_buttons.items():
            button.setEnabled(checking)
            self.result_group.setExclusive(False)
            button.setChecked(checking and agent is not None and agent.result == code)
            self.result_group.setExclusive(True)
        self.method.setEnabled(checking)
        for row in (2, 3):  # method and result: only where the agent verifies
            self._idv_form.setRowVisible(row, checking)
        if step.kind is StepKind.IDV and run.ivr_idv.passed:
            self.message.setText("The IVR verified the caller: go on with Next.")
        elif checking and agent is None:
            self._focus(self.method)

    @staticmethod
    def _path_text(run: ScriptRun) -> str:
        lines = []
        for number, step in enumerate(run.path[:-1], 1):
            answer = run.answer_to(step.id)
            words = f"{_KIND_WORDS[step.kind]}: {_short(step.text)}"
            if step.kind is StepKind.QUESTION:
                words = _short(step.text)
                words += f" — {answer.shown}" if answer else " — not answered"
            elif step.kind is StepKind.IDV:
                words = "Identity check — " + ("verified" if run.verified else "not verified")
            lines.append(f"{number}. {words}")
        return "Path so far:\n" + "\n".join(lines)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _short(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
