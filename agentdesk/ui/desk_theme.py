"""Light and dark desk stylesheets, following the system's colour scheme live.

``desk.qss`` is the light sheet and ``desk-dark.qss`` the dark one; both use the same
selectors, so a widget styled in one is styled in the other.

``AGENTDESK_COLOR_SCHEME=dark`` (or ``light``) overrides the system's scheme: for a desktop
whose platform reports none (X11 without a desktop environment, such as the screenshots'
virtual screen) and for an agent who wants the other one.
"""

from __future__ import annotations

import functools
import logging
import os

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from agentdesk.paths import resource

_SHEETS = {False: "desk.qss", True: "desk-dark.qss"}
# Rich-text accents (light, dark): each meets WCAG AA on its scheme's pane background.
_TONES = {
    "good": ("#1b6e2a", "#7ddc8f"),
    "bad": ("#a32020", "#ff8a80"),
    "warn": ("#8a5a00", "#f2b95c"),
    "muted": ("#555555", "#aeb5c1"),
}
_DARK_LINK = "#8ab4f8"
SCHEME_ENV = "AGENTDESK_COLOR_SCHEME"
_FORCED = {"dark": Qt.ColorScheme.Dark, "light": Qt.ColorScheme.Light}

log = logging.getLogger(__name__)


@functools.cache
def _forced_scheme(value: str) -> Qt.ColorScheme | None:
    """The scheme ``AGENTDESK_COLOR_SCHEME`` asks for; None (said once) when it is not one."""
    if not value.strip():
        return None
    scheme = _FORCED.get(value.strip().lower())
    if scheme is None:
        log.warning("%s=%r is neither 'dark' nor 'light'; following the system", SCHEME_ENV, value)
    return scheme


def forced_scheme() -> Qt.ColorScheme | None:
    return _forced_scheme(os.environ.get(SCHEME_ENV, ""))


def system_scheme() -> Qt.ColorScheme:
    """The scheme ``AGENTDESK_COLOR_SCHEME`` forces, else the platform's current one
    (Unknown without a GUI application)."""
    forced = forced_scheme()
    if forced is not None:
        return forced
    app = QGuiApplication.instance()
    if not isinstance(app, QGuiApplication):
        return Qt.ColorScheme.Unknown
    return app.styleHints().colorScheme()


def is_dark(scheme: Qt.ColorScheme | None = None) -> bool:
    return (system_scheme() if scheme is None else scheme) == Qt.ColorScheme.Dark


def tone(name: str, scheme: Qt.ColorScheme | None = None) -> str:
    """An accent colour for rich text ("good", "bad", "warn", "muted") in the current scheme."""
    light, dark = _TONES[name]
    return dark if is_dark(scheme) else light


def apply_scheme(widget: QWidget, scheme: Qt.ColorScheme | None = None) -> None:
    """Give ``widget`` (and its children) the stylesheet of ``scheme``."""
    widget.setStyleSheet(load_stylesheet(scheme))


def link_style(scheme: Qt.ColorScheme | None = None) -> str:
    """An inline style for rich-text links: the palette's dark blue is unreadable on dark."""
    return f' style="color:{_DARK_LINK}"' if is_dark(scheme) else ""


def load_stylesheet(scheme: Qt.ColorScheme | None = None) -> str:
    """The desk stylesheet for ``scheme`` (default: the system's); light unless Dark."""
    path = resource("styles", _SHEETS[is_dark(scheme)])
    return path.read_text(encoding="utf-8") if path.exists() else ""


class _SchemeFollower(QObject):
    """Restyles its parent widget when the system colour scheme changes; dies with it."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self._widget = widget

    @Slot(Qt.ColorScheme)
    def restyle(self, scheme: Qt.ColorScheme) -> None:
        apply_scheme(self._widget, forced_scheme() or scheme)


def follow_system_scheme(widget: QWidget) -> None:
    """Style ``widget`` now and restyle it whenever the system switches light/dark."""
    apply_scheme(widget)
    app = QGuiApplication.instance()
    if isinstance(app, QGuiApplication):
        # The follower is the widget's child: the connection ends when the widget is deleted.
        follower = _SchemeFollower(widget)
        app.styleHints().colorSchemeChanged.connect(follower.restyle)
