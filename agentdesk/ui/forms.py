"""Pieces every small form dialog shares: the validation message and the OK/Cancel row.

The message is styled by the desk stylesheets (``#formError``), so it stays
readable in both the light and the dark scheme instead of carrying a fixed colour.
A message about one field goes right under that field (:class:`FieldErrors`), not to
the bottom of the form where the agent does not look.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QWidget

from agentdesk.ui import format as fmt
from agentdesk.ui.named import named


def error_label(parent: QWidget | None = None, object_name: str = "formError") -> QLabel:
    """An empty, word-wrapping validation message."""
    # Plain text: the message may quote what was typed.
    label = fmt.plain(named(QLabel(parent), "Validation message"))
    label.setObjectName(object_name)
    label.setWordWrap(True)
    return label


def ok_cancel(
    dialog: QDialog,
    on_ok: Callable[[], object],
    *,
    ok: QDialogButtonBox.StandardButton = QDialogButtonBox.StandardButton.Ok,
    ok_text: str | None = None,
) -> QDialogButtonBox:
    """An OK (or ``ok``) / Cancel row: OK calls ``on_ok``, Cancel rejects ``dialog``."""
    box = QDialogButtonBox(ok | QDialogButtonBox.StandardButton.Cancel, dialog)
    if ok_text is not None:
        box.button(ok).setText(ok_text)
    box.accepted.connect(on_ok)
    box.rejected.connect(dialog.reject)
    return box


class FieldErrors:
    """Validation messages beside their field: a hidden row under each named field of
    ``form`` shows a message about it; a message about no known field goes to ``general``
    (a label the caller placed, e.g. above the buttons)."""

    def __init__(self, form: QFormLayout, fields: Mapping[str, QWidget], general: QLabel) -> None:
        self._form, self._general = form, general
        self._fields = dict(fields)
        self._labels: dict[str, QLabel] = {}
        self.field = ""  # the field the shown message is about ("" for none or general)
        for key, widget in self._fields.items():
            position: tuple[int, object] = form.getWidgetPosition(widget)  # type: ignore[assignment]
            row = position[0]
            if row < 0:
                continue
            label = error_label(form.parentWidget(), general.objectName() or "formError")
            label.setAccessibleName(f"Problem with {widget.accessibleName() or key}")
            form.insertRow(row + 1, "", label)
            form.setRowVisible(label, False)
            self._labels[key] = label

    def show(self, message: str, field: str = "", *, focus: bool = True) -> None:
        """Show ``message`` under ``field`` (or in the general label) and focus the field."""
        self.clear()
        label = self._labels.get(field)
        if label is None:
            self._general.setText(message)
            return
        label.setText(message)
        self._form.setRowVisible(label, True)
        self.field = field
        if focus:
            self._fields[field].setFocus(Qt.FocusReason.OtherFocusReason)

    def clear(self, field: str | None = None) -> None:
        """Clear every message, or only one about ``field`` (it was fixed)."""
        if field is not None and field != self.field:
            return
        self._general.clear()
        for label in self._labels.values():
            if label.text():
                label.clear()
                self._form.setRowVisible(label, False)
        self.field = ""

    def text(self) -> str:
        """The message shown, wherever it is ("" when none)."""
        label = self._labels.get(self.field)
        return label.text() if label is not None else self._general.text()

    def label_for(self, field: str) -> QLabel | None:
        return self._labels.get(field)
