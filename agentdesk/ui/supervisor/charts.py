"""Calls and service level per interval, today against the same weekday last week (QPainter).

:func:`paint_interval_chart` draws on any paint device, so the wallboard
widget and the PDF report share one drawing: per interval a pale bar for
last week's offered calls beside today's bar split into answered,
abandoned and other (timed out, still waiting); a line for each day's
service level on the right-hand axis, with the target dotted across.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from agentdesk.services.supervisor import IntervalPoint, IntervalSeries


@dataclass(frozen=True)
class ChartData:
    """What one chart shows: today, the reference day (or None), the SL target."""

    today: IntervalSeries | None
    reference: IntervalSeries | None
    sl_target: float
    title: str = "Calls per interval: today vs the same weekday last week"
    today_label: str = "today"
    reference_label: str = "last week"


@dataclass(frozen=True)
class ChartPalette:
    """The chart's colours (desk on white, or the wall screen's on black)."""

    background: str = "#ffffff"
    text: str = "#1d2330"
    grid: str = "#e3e6ea"
    reference: str = "#c9ced6"
    answered: str = "#1f5fc4"
    abandoned: str = "#b3261e"
    other: str = "#9aa3af"
    sl_today: str = "#1b7a34"
    sl_reference: str = "#6b7280"
    target: str = "#c26a00"


WALL_PALETTE = ChartPalette(
    background="#000000", text="#ffffff", grid="#333333", reference="#4b5563",
    answered="#60a5fa", abandoned="#f87171", other="#9ca3af", sl_today="#4ade80",
    sl_reference="#d1d5db", target="#fbbf24",
)  # fmt: skip


def _minutes(data: ChartData) -> list[int]:
    seen = {
        p.minute_of_day
        for s in (data.today, data.reference)
        if s is not None
        for p in s.points
        if p.offered or p.answered
    }
    if not seen:
        return []
    step = _step(data)
    first, last = min(seen), max(seen)
    # At least four hours, so a quiet start of the day does not zoom into two fat bars.
    last = max(last, min(1440 - step, first + 4 * 60 - step))
    return list(range(first - first % step, last + 1, step))


def _step(data: ChartData) -> int:
    series = data.today or data.reference
    if series is None or series.interval.value == "day":
        return 1440
    return int(series.interval.value)


def _nice_max(value: float) -> int:
    """A round top for the call axis that quarters into whole calls (4, 8, 12…, 20…)."""
    if value <= 4:
        return 4
    magnitude = 10 ** math.floor(math.log10(value))
    for factor in (1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8, 10):  # quarters stay round numbers
        top = int(factor * magnitude)
        if value <= top and top % 4 == 0:
            return top
    return -(-int(10 * magnitude) // 4) * 4


def _point(series: IntervalSeries | None, minute: int) -> IntervalPoint | None:
    return series.at(minute) if series is not None else None


def paint_interval_chart(
    painter: QPainter,
    rect: QRectF,
    data: ChartData,
    palette: ChartPalette = ChartPalette(),
    min_unit: float = 0.0,
) -> None:
    """Draw the chart inside ``rect`` (device pixels or points; fonts scale with the rect).

    ``min_unit`` is the smallest text height: the wall screen asks for large labels.
    """
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.fillRect(rect, QColor(palette.background))
    unit = max(8.0, min_unit, min(rect.height() / 22.0, rect.width() / 60.0))
    font = QFont(painter.font())
    font.setPixelSize(int(unit))
    painter.setFont(font)
    title_h = unit * 2.6
    _legend(painter, QRectF(rect.left(), rect.top(), rect.width(), title_h), data, palette, unit)
    plot = QRectF(
        rect.left() + unit * 3.2, rect.top() + title_h + unit * 0.6,
        rect.width() - unit * 6.4, rect.height() - title_h - unit * 3.0,
    )  # fmt: skip
    minutes = _minutes(data)
    if not minutes or plot.width() < 20 or plot.height() < 20:
        painter.setPen(QColor(palette.text))
        painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, "No calls yet")
        painter.restore()
        return
    top = _nice_max(
        max((p.offered for s in (data.today, data.reference) if s for p in s.points), default=0)
    )
    _axes(painter, plot, minutes, top, palette, unit)
    slot = plot.width() / len(minutes)
    for i, minute in enumerate(minutes):
        x = plot.left() + i * slot
        _bars(painter, plot, x, slot, top, minute, data, palette)
    for series, colour, dashed in (
        (data.reference, palette.sl_reference, True),
        (data.today, palette.sl_today, False),
    ):
        _sl_line(painter, plot, minutes, slot, series, colour, dashed, unit)
    pen = QPen(QColor(palette.target), max(1.0, unit / 8), Qt.PenStyle.DotLine)
    painter.setPen(pen)
    y = plot.bottom() - data.sl_target * plot.height()
    painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
    painter.restore()


def legend_items(data: ChartData, palette: ChartPalette) -> list[tuple[str, str, str]]:
    """(colour, label, swatch kind) of each series the chart draws: none for empty ones."""
    ref, today = data.reference, data.today
    return [
        (colour, label, kind)
        for colour, label, kind, shown in (
            (palette.reference, f"offered {data.reference_label}", "box", _has(ref, "offered")),
            (palette.answered, f"answered {data.today_label}", "box", _has(today, "answered")),
            (palette.abandoned, "abandoned", "box", _has(today, "abandoned")),
            (palette.other, "other", "box", _has(today, "other")),
            (palette.sl_today, f"SL {data.today_label}", "line", _has(today, "sl")),
            (palette.sl_reference, f"SL {data.reference_label}", "dash", _has(ref, "sl")),
            (palette.target, f"target {data.sl_target:.0%}", "dot", True),
        )
        if shown  # a legend names only what the chart draws
    ]  # fmt: skip


def _legend(
    painter: QPainter, rect: QRectF, data: ChartData, palette: ChartPalette, unit: float
) -> None:
    painter.setPen(QColor(palette.text))
    bold = QFont(painter.font())
    bold.setBold(True)
    painter.save()
    painter.setFont(bold)
    painter.drawText(
        QRectF(rect.left(), rect.top(), rect.width(), unit * 1.3), Qt.AlignmentFlag.AlignLeft,
        data.title,
    )  # fmt: skip
    painter.restore()
    items = legend_items(data, palette)
    x, y = rect.left(), rect.top() + unit * 1.45
    metrics = painter.fontMetrics()
    for colour, label, kind in items:
        swatch = QRectF(x, y + unit * 0.2, unit * 0.9, unit * 0.7)
        if kind == "box":
            painter.fillRect(swatch, QColor(colour))
        else:
            style = {
                "line": Qt.PenStyle.SolidLine,
                "dash": Qt.PenStyle.DashLine,
                "dot": Qt.PenStyle.DotLine,
            }[kind]
            painter.setPen(QPen(QColor(colour), max(1.5, unit / 6), style))
            mid = swatch.center().y()
            painter.drawLine(QPointF(swatch.left(), mid), QPointF(swatch.right(), mid))
        painter.setPen(QColor(palette.text))
        painter.drawText(QPointF(x + unit * 1.15, y + unit * 0.85), label)
        x += unit * 1.6 + metrics.horizontalAdvance(label)


def _has(series: IntervalSeries | None, what: str) -> bool:
    """Whether ``series`` has anything of ``what`` to draw (its legend entry is shown)."""
    if series is None:
        return False
    for p in series.points:
        if what == "offered" and p.offered:
            return True
        if what == "answered" and p.answered:
            return True
        if what == "abandoned" and p.abandoned:
            return True
        if what == "other" and p.offered - p.answered - p.abandoned > 0:
            return True
        if what == "sl" and p.service_level is not None:
            return True
    return False


def _axes(
    painter: QPainter, plot: QRectF, minutes: list[int], top: int, palette: ChartPalette,
    unit: float,
) -> None:  # fmt: skip
    grid = QPen(QColor(palette.grid), 1)
    text = QColor(palette.text)
    for step in range(5):
        y = plot.bottom() - plot.height() * step / 4
        painter.setPen(grid)
        painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
        painter.setPen(text)
        left = QRectF(plot.left() - unit * 3.1, y - unit * 0.7, unit * 2.9, unit * 1.4)
        painter.drawText(left, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         f"{top * step / 4:g}")  # fmt: skip
        right = QRectF(plot.right() + unit * 0.3, y - unit * 0.7, unit * 3.0, unit * 1.4)
        painter.drawText(right, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         f"{25 * step}%")  # fmt: skip
    slot = plot.width() / len(minutes)
    every = max(1, math.ceil(len(minutes) / max(1.0, plot.width() / (unit * 4.5))))
    for i, minute in enumerate(minutes):
        if i % every:
            continue
        label = "day" if minute >= 1440 else f"{minute // 60:02d}:{minute % 60:02d}"
        box = QRectF(plot.left() + i * slot - unit * 2, plot.bottom() + unit * 0.3, unit * 4, unit)
        painter.drawText(box, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, label)


def _bars(
    painter: QPainter, plot: QRectF, x: float, slot: float, top: int, minute: int,
    data: ChartData, palette: ChartPalette,
) -> None:  # fmt: skip
    gap = slot * 0.12
    width = (slot - 3 * gap) / 2
    scale = plot.height() / top
    reference = _point(data.reference, minute)
    if reference is not None and reference.offered:
        height = reference.offered * scale
        painter.fillRect(QRectF(x + gap, plot.bottom() - height, width, height),
                         QColor(palette.reference))  # fmt: skip
    today = _point(data.today, minute)
    if today is None or not today.offered:
        return
    left, bottom = x + 2 * gap + width, plot.bottom()
    other = max(0, today.offered - today.answered - today.abandoned)
    for count, colour in (
        (today.answered, palette.answered),
        (today.abandoned, palette.abandoned),
        (other, palette.other),
    ):
        if count:
            height = count * scale
            painter.fillRect(QRectF(left, bottom - height, width, height), QColor(colour))
            bottom -= height


def _sl_line(
    painter: QPainter, plot: QRectF, minutes: list[int], slot: float,
    series: IntervalSeries | None, colour: str, dashed: bool, unit: float,
) -> None:  # fmt: skip
    if series is None:
        return
    path = QPainterPath()
    started = False
    dots = []
    for i, minute in enumerate(minutes):
        point = series.at(minute)
        if point is None or point.service_level is None:
            started = False
            continue
        at = QPointF(plot.left() + (i + 0.5) * slot,
                     plot.bottom() - point.service_level * plot.height())  # fmt: skip
        if started:
            path.lineTo(at)
        else:
            path.moveTo(at)
            started = True
        dots.append(at)
    style = Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
    painter.setPen(QPen(QColor(colour), max(1.5, unit / 5), style))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(path)
    painter.setBrush(QColor(colour))
    radius = max(1.5, unit / 5)
    for dot in dots:
        painter.drawEllipse(dot, radius, radius)


class IntervalChart(QWidget):
    """The chart as a widget; ``set_data`` repaints it when the figures changed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data: ChartData | None = None
        self.palette_ = ChartPalette()
        self.min_unit = 0.0
        self.setMinimumSize(320, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(560, 260)

    def set_data(self, data: ChartData) -> None:
        if data == self.data:
            return  # the server re-sent the same day: nothing to repaint
        self.data = data
        self.update()

    def set_palette(self, palette: ChartPalette) -> None:
        self.palette_ = palette
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        data = self.data or ChartData(None, None, 0.8)
        paint_interval_chart(painter, QRectF(self.rect()), data, self.palette_, self.min_unit)
        painter.end()
