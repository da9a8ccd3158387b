"""Drawing on a PDF page with PDF's own operators, and a report chart drawn that way.

:class:`Canvas` collects one page's content stream in top-down coordinates
(points from the page's top-left, as a reader thinks of a page; PDF's own
origin is bottom-left): text in Courier (``F1``), Helvetica-Bold (``F2``) or
Helvetica (``F3``), filled boxes (``re f``), polylines (``m l S``, solid,
dashed or dotted). :func:`draw_chart` draws a ``report_pages.Chart`` as the
desktop's QPainter version does: bars side by side per interval on the calls
axis, percentage lines on the 0-100 % axis, the target dotted when a line is
there, and a legend naming only the series with data. Qt-free (the server
mails it); ``plain_pdf.py`` wraps the pages into a file.
"""

from __future__ import annotations

from collections.abc import Sequence

from agentdesk.services.supervisor.report_pages import TARGET_COLOUR, Chart, legend_entries

HELVETICA_EM = 0.52  # an average Helvetica advance per character (em), for layout only
_DASHES = {"solid": "[] 0 d", "dash": "[4 2] 0 d", "dot": "[1 2] 0 d"}


def escape(value: str) -> str:
    """``value`` as the inside of a PDF string in WinAnsi ("?" for what it cannot hold)."""
    raw = value.encode("latin-1", "replace").decode("latin-1")
    return raw.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _rgb(colour: str) -> str:
    value = colour.lstrip("#")
    return " ".join(f"{int(value[i : i + 2], 16) / 255:.3f}" for i in (0, 2, 4))


def text_width(text: str, size: float, *, mono: bool = False) -> float:
    return len(text) * size * (0.6 if mono else HELVETICA_EM)


class Canvas:
    """One page's drawing operators, in points from the page's top-left corner."""

    def __init__(self, page_height: float) -> None:
        self.height = page_height
        self.ops: list[str] = []

    def text(
        self, x: float, baseline: float, text: str, size: float, *, bold: bool = False,
        mono: bool = False, colour: str = "#1d2330",
    ) -> None:  # fmt: skip
        font = "F1" if mono else "F2" if bold else "F3"
        at = f"{x:.2f} {self.height - baseline:.2f}"
        self.ops.append(
            f"{_rgb(colour)} rg BT /{font} {size:.2f} Tf {at} Td ({escape(text)}) Tj ET"
        )

    def box(self, x: float, top: float, width: float, height: float, colour: str) -> None:
        self.ops.append(f"{_rgb(colour)} rg {x:.2f} {self.height - top - height:.2f} "
                        f"{width:.2f} {height:.2f} re f")  # fmt: skip

    def line(
        self, points: Sequence[tuple[float, float]], colour: str, width: float,
        style: str = "solid",
    ) -> None:  # fmt: skip
        if len(points) < 2:
            return
        path = [f"{x:.2f} {self.height - y:.2f}" for x, y in points]
        self.ops.append(f"{_rgb(colour)} RG {width:.2f} w {_DASHES[style]} {path[0]} m "
                        + " ".join(f"{p} l" for p in path[1:]) + " S [] 0 d")  # fmt: skip

    def table(self, x: float, top: float, rows: Sequence[Sequence[str]], size: float) -> float:
        """Rows of text in Courier, the first column left and the rest right-aligned, the
        first row (headers) on a grey band; returns the y below the table."""
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))] if rows else []
        leading = size * 1.5
        if rows:
            total = text_width("  ".join("x" * w for w in widths), size, mono=True)
            self.box(x - 2, top - size * 1.1, total + 4, leading, "#eef1f5")
        for n, row in enumerate(rows):
            cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                     enumerate(zip(row, widths, strict=True))]  # fmt: skip
            self.text(x, top + n * leading, "  ".join(cells), size, mono=True)
        return top + len(rows) * leading

    def stream(self) -> bytes:
        return "\n".join(self.ops).encode("latin-1")


def draw_chart(
    canvas: Canvas, chart: Chart, left: float, top: float, width: float, height: float
) -> None:
    """Draw ``chart`` in the box (points from the page's top-left)."""
    unit = 7.0
    canvas.text(left, top + 9, chart.title, 9, bold=True)
    x = left
    for colour, label, kind in legend_entries(chart):
        y = top + 21
        if kind == "box":
            canvas.box(x, y - 6, 7, 6, colour)
        else:
            canvas.line([(x, y - 3), (x + 9, y - 3)], colour, 1.5, kind)
        canvas.text(x + 11, y, label, unit)
        x += 11 + text_width(label, unit) + 10
    plot = (left + 26, top + 32, width - 56, height - 46)  # x, y, w, h
    px, py, pw, ph = plot
    if not chart.legend or not chart.labels:
        canvas.text(px + pw / 2 - 60, py + ph / 2, "No calls in this period", 9)
        return
    _axes(canvas, chart, plot, unit)
    slot = pw / len(chart.labels)
    bars = chart.bars
    gap = slot * 0.15
    bar_w = (slot - gap) / max(1, len(bars))
    for n, series in enumerate(bars):
        for i, value in enumerate(series.values):
            if value:
                h = value / chart.top * ph
                canvas.box(px + i * slot + gap / 2 + n * bar_w, py + ph - h, bar_w, h,
                           series.colour)  # fmt: skip
    for series in chart.lines:
        run: list[tuple[float, float]] = []
        for i, value in enumerate([*series.values, None]):
            if value is None:
                canvas.line(run, series.colour, 1.5, "dash" if series.dashed else "solid")
                for cx, cy in run if len(run) == 1 else ():
                    canvas.box(cx - 1.5, cy - 1.5, 3, 3, series.colour)  # a lone point
                run = []
            else:
                run.append((px + (i + 0.5) * slot, py + ph - value * ph))
    if chart.lines and chart.target is not None:
        y = py + ph - chart.target * ph
        canvas.line([(px, y), (px + pw, y)], TARGET_COLOUR, 1.0, "dot")


def _axes(
    canvas: Canvas, chart: Chart, plot: tuple[float, float, float, float], unit: float
) -> None:
    px, py, pw, ph = plot
    for step in range(5):
        y = py + ph - ph * step / 4
        canvas.line([(px, y), (px + pw, y)], "#e3e6ea", 0.5)
        label = f"{chart.top * step // 4}"
        canvas.text(px - 4 - text_width(label, unit), y + 2.5, label, unit)
        if chart.lines:
            canvas.text(px + pw + 4, y + 2.5, f"{25 * step}%", unit)
    slot = pw / len(chart.labels)
    room = text_width(max(chart.labels, key=len), unit) + 8
    every = chart.label_every(room, pw)
    for i, label in enumerate(chart.labels):
        if i % every == 0:
            cx = px + (i + 0.5) * slot
            canvas.text(cx - text_width(label, unit) / 2, py + ph + 10, label, unit)
