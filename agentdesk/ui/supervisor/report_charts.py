"""A report chart (``services/supervisor/report_pages.Chart``) drawn with QPainter.

Bars side by side per interval on the calls axis (left), percentage lines on
the 0-100 % axis (right), the service-level target dotted across when a line
is there. Only the series with data are drawn and named in the legend. The
e-mailed PDF draws the same values with PDF operators (``plain_pdf.py``).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen

from agentdesk.services.supervisor.report_pages import (
    TARGET_COLOUR,
    Chart,
    Series,
    legend_entries,
)

TEXT, GRID = "#1d2330", "#e3e6ea"


def paint_report_chart(painter: QPainter, rect: QRectF, chart: Chart, unit: float) -> None:
    """Draw ``chart`` inside ``rect``; ``unit`` is the label text height in device pixels."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont(painter.font())
    font.setPixelSize(int(unit))
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(QColor(TEXT))
    painter.drawText(QRectF(rect.left(), rect.top(), rect.width(), unit * 1.4),
                     int(Qt.AlignmentFlag.AlignLeft), chart.title)  # fmt: skip
    font.setBold(False)
    painter.setFont(font)
    _legend(painter, QPointF(rect.left(), rect.top() + unit * 1.6), chart, unit)
    plot = QRectF(rect.left() + unit * 3.5, rect.top() + unit * 3.6,
                  rect.width() - unit * 7.0, rect.height() - unit * 5.4)  # fmt: skip
    if not chart.legend or not chart.labels:
        painter.drawText(plot, int(Qt.AlignmentFlag.AlignCenter), "No calls in this period")
        painter.restore()
        return
    _axes(painter, plot, chart, unit)
    slot = plot.width() / len(chart.labels)
    for n, series in enumerate(chart.bars):
        _bars(painter, plot, slot, n, len(chart.bars), series, chart.top)
    for series in chart.lines:
        _line(painter, plot, slot, series, unit)
    if chart.lines and chart.target is not None:
        painter.setPen(QPen(QColor(TARGET_COLOUR), max(1.0, unit / 8), Qt.PenStyle.DotLine))
        y = plot.bottom() - chart.target * plot.height()
        painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
    painter.restore()


def _legend(painter: QPainter, at: QPointF, chart: Chart, unit: float) -> None:
    x, y = at.x(), at.y()
    metrics = painter.fontMetrics()
    styles = {"solid": Qt.PenStyle.SolidLine, "dash": Qt.PenStyle.DashLine,
              "dot": Qt.PenStyle.DotLine}  # fmt: skip
    for colour, label, kind in legend_entries(chart):
        swatch = QRectF(x, y + unit * 0.2, unit * 0.9, unit * 0.7)
        if kind == "box":
            painter.fillRect(swatch, QColor(colour))
        else:
            painter.setPen(QPen(QColor(colour), max(1.5, unit / 6), styles[kind]))
            mid = swatch.center().y()
            painter.drawLine(QPointF(swatch.left(), mid), QPointF(swatch.right(), mid))
        painter.setPen(QColor(TEXT))
        painter.drawText(QPointF(x + unit * 1.15, y + unit * 0.85), label)
        x += unit * 2.0 + metrics.horizontalAdvance(label)


def _axes(painter: QPainter, plot: QRectF, chart: Chart, unit: float) -> None:
    right_axis = bool(chart.lines)
    for step in range(5):
        y = plot.bottom() - plot.height() * step / 4
        painter.setPen(QPen(QColor(GRID), 1))
        painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
        painter.setPen(QColor(TEXT))
        box = QRectF(plot.left() - unit * 3.3, y - unit * 0.7, unit * 3.0, unit * 1.4)
        painter.drawText(box, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                         f"{chart.top * step // 4}")  # fmt: skip
        if right_axis:
            box = QRectF(plot.right() + unit * 0.3, y - unit * 0.7, unit * 3.2, unit * 1.4)
            painter.drawText(box, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                             f"{25 * step}%")  # fmt: skip
    slot = plot.width() / len(chart.labels)
    room = painter.fontMetrics().horizontalAdvance(max(chart.labels, key=len)) + unit
    every = chart.label_every(room, plot.width())
    for i, label in enumerate(chart.labels):
        if i % every == 0:
            box = QRectF(plot.left() + (i + 0.5) * slot - room / 2, plot.bottom() + unit * 0.3,
                         room, unit * 1.3)  # fmt: skip
            painter.drawText(box, int(Qt.AlignmentFlag.AlignHCenter), label)


def _bars(
    painter: QPainter, plot: QRectF, slot: float, n: int, of: int, series: Series, top: int
) -> None:
    gap = slot * 0.15
    width = (slot - gap) / of
    colour = QColor(series.colour)
    for i, value in enumerate(series.values):
        if value:
            height = value / top * plot.height()
            left = plot.left() + i * slot + gap / 2 + n * width
            painter.fillRect(QRectF(left, plot.bottom() - height, width, height), colour)


def _line(painter: QPainter, plot: QRectF, slot: float, series: Series, unit: float) -> None:
    path, started, dots = QPainterPath(), False, []
    for i, value in enumerate(series.values):
        if value is None:
            started = False
            continue
        at = QPointF(plot.left() + (i + 0.5) * slot, plot.bottom() - value * plot.height())
        if started:
            path.lineTo(at)
        else:
            path.moveTo(at)
            started = True
        dots.append(at)
    style = Qt.PenStyle.DashLine if series.dashed else Qt.PenStyle.SolidLine
    painter.setPen(QPen(QColor(series.colour), max(1.5, unit / 5), style))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(path)
    painter.setBrush(QColor(series.colour))
    radius = max(1.5, unit / 5)
    for dot in dots:
        painter.drawEllipse(dot, radius, radius)
