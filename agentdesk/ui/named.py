"""Give a freshly built widget its accessible name in the same expression.

PySide6 accepts any Qt property as a constructor keyword at run time, but its
type stubs only list the properties a class declares itself, so inherited ones
such as ``accessibleName`` fail type checking. This helper keeps construction a
single typed expression instead.
"""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtWidgets import QWidget

WidgetT = TypeVar("WidgetT", bound=QWidget)


def named(widget: WidgetT, accessible_name: str) -> WidgetT:
    """Set ``widget``'s accessible name (what screen readers and tests find it by)."""
    widget.setAccessibleName(accessible_name)
    return widget
