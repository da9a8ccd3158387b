"""Paints one timeline entry: channel badge, time and summary, who/how long/outcome, notes preview.

Everything painted comes from the frozen entry in the model; no lookups
happen here. All rows share one height so a list of 100 000 rows lays out in
constant time (``setUniformItemSizes``); the full detail opens below the list.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from agentdesk.services.crm.timeline import TimelineEntry
from agentdesk.ui import format as fmt
from agentdesk.ui.timeline.model import ENTRY_ROLE

# Badge text and colour per channel: mid-tone colours that read on light and dark palettes.
CHANNEL_BADGES: dict[str, tuple[str, str]] = {
    "phone": ("PH", "#2e7d32"),
    "email": ("EM", "#1565c0"),
    "chat": ("CH", "#6a1b9a"),
    "web": ("WB", "#00838f"),
    "branch": ("BR", "#8d6e63"),
    "sms": ("SM", "#ef6c00"),
    "social": ("SO", "#ad1457"),
    "ivr": ("IV", "#546e7a"),
    "ticket": ("TK", "#c62828"),
}
DIRECTION_TEXT = {"inbound": "← inbound", "outbound": "→ outbound", "internal": "note"}
PADDING = 6
BADGE = 30


def duration_text(seconds: int | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(max(0, seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def meta_line(entry: TimelineEntry) -> str:
    parts = [
        DIRECTION_TEXT.get(entry.direction or "", entry.direction or ""),
        entry.agent or "",
        duration_text(entry.duration_seconds),
        fmt.label("disposition", entry.disposition),
    ]
    if entry.notes_length > 1000:
        parts.append(f"notes {entry.notes_length:,} chars")
    return "  ·  ".join(p for p in parts if p)


class TimelineDelegate(QStyledItemDelegate):
    """Three-line rendering of a ``TimelineEntry``; a grey line for the loading placeholder."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._row_height = 0

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        line = QFontMetrics(option.font).height()
        return QSize(320, max(BADGE, line * 3) + 2 * PADDING)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        painter.save()
        style = option.widget.style() if option.widget else None
        if style is not None:
            style.drawPrimitive(
                QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, option.widget
            )
        # Ask the Python model directly: under Python 3.11, PySide6 6.12.0 hands back None
        # without a reference from QModelIndex.data() on an empty value (and from void calls).
        entry = index.model().data(index, ENTRY_ROLE)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        text_colour = option.palette.color(role)
        rect = option.rect.adjusted(PADDING, PADDING, -PADDING, -PADDING)
        if entry is None:
            painter.setPen(
                option.palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
            )
            italic = QFont(option.font)
            italic.setItalic(True)
            painter.setFont(italic)
            painter.drawText(rect, Qt.AlignmentFlag.AlignVCenter, "Loading…")
        else:
            self._paint_entry(painter, option, rect, entry, text_colour)
        painter.restore()

    def _paint_entry(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        rect: QRect,
        entry: TimelineEntry,
        colour: QColor,
    ) -> None:
        code, badge_colour = CHANNEL_BADGES.get(entry.channel, ("??", "#757575"))
        badge = QRect(rect.left(), rect.top(), BADGE, BADGE)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(badge_colour))
        painter.drawRoundedRect(badge, 6, 6)
        small = QFont(option.font)
        small.setBold(True)
        small.setPointSizeF(max(6.0, option.font.pointSizeF() * 0.8))
        painter.setFont(small)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, code)

        text_rect = rect.adjusted(BADGE + PADDING * 2, 0, 0, 0)
        line = QFontMetrics(option.font).height()
        bold = QFont(option.font)
        bold.setBold(True)
        when = entry.at.astimezone().strftime("%d %b %Y %H:%M")
        painter.setPen(colour)
        painter.setFont(bold)
        # Painted as plain text, with bidi overrides and controls neutralised (fmt.display_text).
        title = f"{when}   {fmt.display_text(entry.summary)}"
        painter.drawText(
            QRect(text_rect.left(), text_rect.top(), text_rect.width(), line),
            Qt.AlignmentFlag.AlignLeft,
            QFontMetrics(bold).elidedText(title, Qt.TextElideMode.ElideRight, text_rect.width()),
        )
        painter.setFont(option.font)
        metrics = QFontMetrics(option.font)
        muted = QColor(colour)
        muted.setAlphaF(0.75)
        painter.setPen(muted)
        for n, text in enumerate((meta_line(entry), entry.notes_preview), start=1):
            painter.drawText(
                QRect(text_rect.left(), text_rect.top() + line * n, text_rect.width(), line),
                Qt.AlignmentFlag.AlignLeft,
                metrics.elidedText(
                    fmt.display_text(text), Qt.TextElideMode.ElideRight, text_rect.width()
                ),
            )
