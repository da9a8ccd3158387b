"""Nothing clipped at 1366×768 or 1920×1080, light or dark (issue 14 item 2).

The real desktop (``desk_factory``: server, cache, PBX simulator, workspace docks) with a
customer open and a call popped and answered, resized to the screen size; then every
visible widget is walked and its text measured with ``QFontMetrics.horizontalAdvance``
against the room it has. A text wider than its room fails unless the widget elides it
(and then the full text must be in the tooltip). Table views must show all their
columns without horizontal scrolling; tab bars must not squeeze a tab under its text;
every toolbar action is either shown or reachable through the overflow button.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QFontMetrics, QTextDocument
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QStyle,
    QStyleOptionComboBox,
    QTabBar,
    QToolBar,
    QToolButton,
    QWidget,
)

from agentdesk.services.desk.screen_pop import CallPhase
from agentdesk.ui import desk_theme
from agentdesk.ui.call_dialogs import TransferDialog
from tests.ui.data import add_customer

pytestmark = pytest.mark.gui

SIZES = {"1366x768": QSize(1366, 768), "1920x1080": QSize(1920, 1080)}
SCHEMES = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}
_MAX_WIDGETS = 20_000  # a bound on the walk; the desk has a few hundred


def _shown(widget: QWidget, root: QWidget) -> bool:
    # A visible region: a dock tabbed behind another counts as visible but shows nothing.
    return (
        widget.isVisibleTo(root)
        and widget.width() > 0
        and widget.height() > 0
        and not widget.visibleRegion().isEmpty()
    )


def _plain(text: str, rich: bool) -> str:
    if rich:
        doc = QTextDocument()
        doc.setHtml(text)
        text = doc.toPlainText()
    return re.sub(r"&(?!&)", "", text) if not rich else text


def _widest_line(metrics: QFontMetrics, text: str) -> int:
    return max((metrics.horizontalAdvance(line) for line in text.split("\n")), default=0)


def _where(widget: QWidget) -> str:
    names: list[str] = []
    w: QWidget | None = widget
    for _ in range(8):
        if w is None:
            break
        names.append(w.objectName() or w.accessibleName() or type(w).__name__)
        w = w.parentWidget()
    return " < ".join(names)


def _label_problem(label: QLabel) -> str | None:
    text = label.text()
    if not text or label.wordWrap() or not label.pixmap().isNull():
        return None
    rich = label.textFormat() == Qt.TextFormat.RichText or (
        label.textFormat() == Qt.TextFormat.AutoText and re.search(r"<[a-zA-Z/!]", text) is not None
    )
    shown = _plain(text, rich)
    room = label.contentsRect().width() - 2 * max(label.margin(), 0)
    if label.indent() > 0:
        room -= label.indent()
    need = _widest_line(label.fontMetrics(), shown)
    if need <= room:
        return None
    return f"label {shown[:60]!r}: needs {need}px, has {room}px"


def _button_problem(button: QAbstractButton) -> str | None:
    text = _plain(button.text(), False)
    if not text:
        return None
    if isinstance(button, QToolButton) and button.property("elides"):
        return None
    # The style's own size for this text (padding, indicator, icon): narrower is cut.
    need = button.sizeHint().width()
    kinds = QCheckBox | QRadioButton | QPushButton | QToolButton
    if isinstance(button, kinds) and need <= button.width():
        return None
    return f"button {text[:60]!r}: needs {need}px, has {button.width()}px"


def _combo_problem(combo: QComboBox) -> str | None:
    text = combo.currentText()
    if not text or combo.isEditable():
        return None
    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    field = combo.style().subControlRect(
        QStyle.ComplexControl.CC_ComboBox,
        option,
        QStyle.SubControl.SC_ComboBoxEditField,
        combo,
    )
    need = combo.fontMetrics().horizontalAdvance(text)
    if need <= field.width():
        return None
    return f"combo {text[:60]!r}: needs {need}px, has {field.width()}px"


def _line_edit_problem(edit: QLineEdit) -> str | None:
    parent = edit.parentWidget()
    in_spin = isinstance(parent, QAbstractSpinBox)
    text = edit.text() if in_spin else ("" if edit.text() else edit.placeholderText())
    if not text:
        return None
    margins = edit.textMargins()
    room = edit.contentsRect().width() - margins.left() - margins.right() - 4
    if not in_spin and edit.isClearButtonEnabled():
        room -= 0  # the clear button only shows with text; a placeholder has the room
    need = edit.fontMetrics().horizontalAdvance(text)
    if need <= room:
        return None
    kind = "field" if in_spin else "placeholder"
    return f"{kind} {text[:60]!r}: needs {need}px, has {room}px"


def _tab_problem(bar: QTabBar) -> str | None:
    if bar.elideMode() != Qt.TextElideMode.ElideNone:
        return None
    for i in range(bar.count()):
        if not bar.isTabVisible(i):
            continue
        hint, rect = bar.tabSizeHint(i), bar.tabRect(i)
        horizontal = bar.shape() in (
            QTabBar.Shape.RoundedNorth,
            QTabBar.Shape.RoundedSouth,
            QTabBar.Shape.TriangularNorth,
            QTabBar.Shape.TriangularSouth,
        )
        if horizontal and rect.width() < hint.width():
            return f"tab {bar.tabText(i)!r}: needs {hint.width()}px, has {rect.width()}px"
    return None


def _view_problem(view: QAbstractItemView) -> str | None:
    header = getattr(view, "horizontalHeader", None)
    if header is None:
        return None
    top: QHeaderView = header()
    if not top.isVisible():
        return None
    bar = view.horizontalScrollBar()
    if bar.maximum() <= bar.minimum():
        return None
    hidden: list[str] = []
    model = view.model()
    room = view.viewport().width()
    for logical in range(top.count()):
        if top.isSectionHidden(logical):
            continue
        right = top.sectionViewportPosition(logical) + top.sectionSize(logical)
        if right > room:
            hidden.append(str(model.headerData(logical, Qt.Orientation.Horizontal)))
    if not hidden:
        return None
    return f"table columns cut or scrolled away: {', '.join(hidden)} (view {room}px)"


def clipped_texts(root: QWidget) -> list[str]:
    """Every visible text under ``root`` wider than its room and not elided."""
    problems: list[str] = []
    widgets = [root, *root.findChildren(QWidget)][:_MAX_WIDGETS]
    for widget in widgets:
        if not _shown(widget, root):
            continue
        problem: str | None = None
        if isinstance(widget, QLabel):
            problem = None if widget.property("elides") else _label_problem(widget)
        elif isinstance(widget, QComboBox):
            problem = _combo_problem(widget)
        elif isinstance(widget, QAbstractButton) and not isinstance(widget.parentWidget(), QTabBar):
            problem = _button_problem(widget)
        elif isinstance(widget, QLineEdit):
            problem = _line_edit_problem(widget)
        elif isinstance(widget, QTabBar):
            problem = _tab_problem(widget)
        elif isinstance(widget, QAbstractItemView) and isinstance(widget, QAbstractScrollArea):
            problem = _view_problem(widget)
        if problem is not None:
            problems.append(f"{problem} — {_where(widget)}")
    return problems


def elided_without_tooltip(root: QWidget) -> list[str]:
    """Eliding labels must keep the full text in their tooltip."""
    out = []
    for label in root.findChildren(QLabel):
        if label.property("elides") and _shown(label, root) and "…" in label.text():
            full = str(label.property("full_text") or "")
            if full and full not in label.toolTip():
                out.append(f"{full[:60]!r} elided without its tooltip — {_where(label)}")
    return out


def unreachable_actions(bar: QToolBar) -> list[str]:
    """Toolbar actions neither shown nor behind the overflow (extension) button."""
    extension = next(
        (b for b in bar.findChildren(QToolButton) if b.objectName() == "qt_toolbar_ext_button"),
        None,
    )
    overflow = extension is not None and extension.isVisible()
    lost = []
    for action in bar.actions():
        if action.isSeparator() or not action.isVisible():
            continue
        widget = bar.widgetForAction(action)
        shown = widget is not None and widget.isVisible()
        if shown and widget is not None:
            right = widget.mapTo(bar.window(), widget.rect().topRight()).x()
            shown = right <= bar.window().width()
        if not shown and not overflow:
            lost.append(action.text() or "(widget)")
    return lost


# --------------------------------------------------------------------------- the desk


def _call_on_screen(desk_factory: Any) -> Any:
    ids: dict[str, Any] = {}

    def seed(central: Any) -> None:
        ids["main"] = add_customer(
            central, "Maximiliane Annabelle Montgomery-Featherstonehaugh", "+447700900123",
            interactions=30, open_tickets=3,
        )  # fmt: skip

    desk = desk_factory(seed=seed)
    window = desk.window
    placed = desk.call("+447700900123", intent="balance")
    desk.wait_pop(placed)
    window.actions_by_id["answer"].trigger()
    desk.qtbot.waitUntil(
        lambda: (
            (c := desk.controller.current_call()) is not None and c.phase is CallPhase.CONNECTED
        ),
        timeout=10_000,
    )
    desk.qtbot.waitUntil(lambda: window.workspace_tabs.count() == 1, timeout=10_000)
    workspace = window.workspace_tabs.currentWidget()
    desk.qtbot.waitUntil(lambda: workspace.card is not None, timeout=10_000)
    desk.qtbot.waitUntil(lambda: workspace.timeline.model.entry_count() > 0, timeout=10_000)
    return desk


def _settle(desk: Any, size: QSize, scheme: Qt.ColorScheme) -> None:
    window = desk.window
    desk_theme.apply_scheme(window, scheme)
    window.showNormal()
    window.resize(size)
    desk.qtbot.waitUntil(lambda: window.size() == size, timeout=5000)
    for _ in range(5):  # layouts settle over a few event-loop turns
        QApplication.processEvents()
        desk.qtbot.wait(20)


@pytest.mark.parametrize("scheme", list(SCHEMES))
@pytest.mark.parametrize("size", list(SIZES))
def test_nothing_is_clipped_with_a_call_and_a_customer_open(
    desk_factory: Any, size: str, scheme: str
) -> None:
    desk = _call_on_screen(desk_factory)
    window = desk.window
    _settle(desk, SIZES[size], SCHEMES[scheme])
    window.workspace_tabs.currentWidget().detail_tabs.setCurrentIndex(2)  # Identity
    QApplication.processEvents()
    problems = clipped_texts(window) + elided_without_tooltip(window)
    assert problems == [], "\n".join(problems)
    assert unreachable_actions(window.toolbar) == []


@pytest.mark.parametrize("size", list(SIZES))
def test_the_transfer_dialog_fits(desk_factory: Any, size: str) -> None:
    desk = _call_on_screen(desk_factory)
    _settle(desk, SIZES[size], Qt.ColorScheme.Light)
    dialog = TransferDialog(["general", "sales"], attended=True, parent=desk.window)
    dialog.show()
    desk.qtbot.waitExposed(dialog)
    problems = clipped_texts(dialog)
    dialog.close()
    assert problems == [], "\n".join(problems)


def test_a_supervisors_toolbar_overflows_instead_of_losing_actions(desk_factory: Any) -> None:
    desk = _call_on_screen(desk_factory)
    window = desk.window
    window.toolbar.addSeparator()
    for text in ("Wallboard", "Reports"):  # as install_supervisor adds them
        action = QAction(text, window)
        window.toolbar.addAction(action)
    _settle(desk, SIZES["1366x768"], Qt.ColorScheme.Light)
    desk.controller.state_changed.emit(desk.controller.state)
    assert unreachable_actions(window.toolbar) == []


KEYRING_NOTE = (
    "No OS keyring backend is available on this computer, so secrets are kept in memory for "
    "this session only (never written to a file): 'Remember me' is off and the local cache "
    "is rebuilt at every start."
)


def test_the_window_can_be_as_narrow_as_a_1366_screen_with_a_setup_note(
    desk_factory: Any,
) -> None:
    """Seen in the demo: the keyring note in the status bar made the window 1590 px wide, so
    at 1366×768 the call pane and the status bar ran off the right edge of the screen."""
    desk = _call_on_screen(desk_factory)
    window = desk.window
    window.status.add_setup_note(KEYRING_NOTE)
    window.status.add_setup_note("The server is unreachable: you work from the cache.")
    _settle(desk, SIZES["1366x768"], Qt.ColorScheme.Light)
    # What the status bar needs at least (its permanent widgets side by side) and the button.
    assert window.status.minimumSizeHint().width() <= 1000  # 1315 before the eliding
    assert window.status.setup.sizeHint().width() <= 400
    assert window.minimumSizeHint().width() <= 1366
    assert window.width() == 1366
    assert window.status.setup.toolTip()  # the whole text is one hover away
