"""Pieces every small form dialog shares: the validation message and the OK/Cancel row.

The message is styled by the desk stylesheets (``#formError``), so it stays
readable in both the light and the dark scheme instead of carrying a fixed colour.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QWidget

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
