"""A PDF without Qt or a PDF library: text, filled boxes and lines, paginated.

The server e-mails reports (``report_mail.py``) and holds no Qt (the desktop's
PDF is drawn with QPdfWriter, ``ui/supervisor/report_pdf.py``), so the mailed
PDF is written here with PDF's own operators on landscape A4.
:func:`report_pdf` lays a report out as the desktop's does: page one carries
the KPI summary and the day totals, then come the charts per queue
(``report_pages.queue_charts``: bars with ``re f``, lines with ``m l S``,
legend entries only for series with data), then the report's text
(:func:`text_pdf` on its own sets lines of text alone). Fonts are Courier and
Helvetica, of the 14 standard PDF fonts, so nothing is embedded and every reader
has them. Text is encoded as WinAnsi (Latin-1 here); a character outside it is
printed as "?".
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from agentdesk.services.supervisor.plain_chart import Canvas, draw_chart
from agentdesk.services.supervisor.report_pages import day_table, queue_charts
from agentdesk.services.supervisor.reports import Report, format_text, kpi_summary

PAGE_W, PAGE_H = 842, 595  # A4 landscape, in points
MARGIN = 36
SIZE, MIN_SIZE = 8.0, 4.5  # font size (pt), shrunk for wide tables; Courier's advance is 0.6 em
TITLE_SIZE = 13
WRAP = 180  # a longer line (a summary sentence) is wrapped rather than shrinking every table


def _text(value: str) -> str:
    raw = value.encode("latin-1", "replace").decode("latin-1")
    return raw.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _wrapped(line: str) -> list[str]:
    if len(line) <= WRAP:
        return [line]
    return textwrap.wrap(line, WRAP, subsequent_indent="  ", break_on_hyphens=False) or [line]


def _size(lines: Sequence[str]) -> float:
    """The font size that fits the widest line across the page (not below MIN_SIZE)."""
    widest = max((len(line) for line in lines), default=1) or 1
    return max(MIN_SIZE, min(SIZE, (PAGE_W - 2 * MARGIN) / (0.6 * widest)))


def _page(title: str, lines: Sequence[str], size: float) -> bytes:
    top, leading = PAGE_H - MARGIN, size * 1.25
    chars = int((PAGE_W - 2 * MARGIN) / (0.6 * size))
    out = [f"BT /F2 {TITLE_SIZE} Tf {MARGIN} {top - TITLE_SIZE} Td ({_text(title)}) Tj ET"]
    out.append(f"BT /F1 {size:.2f} Tf {leading:.2f} TL {MARGIN} {top - TITLE_SIZE - 20} Td")
    for line in lines:
        out.append(f"({_text(line[:chars])}) Tj T*")
    out.append("ET")
    return "\n".join(out).encode("latin-1")


def _text_pages(title: str, lines: Sequence[str]) -> list[bytes]:
    lines = [part for line in lines for part in _wrapped(line)]
    size = _size(lines)
    per_page = int((PAGE_H - 2 * MARGIN - TITLE_SIZE - 20) / (size * 1.25))
    chunks = [lines[i : i + per_page] for i in range(0, len(lines), per_page)] or [[]]
    return [_page(title, chunk, size) for chunk in chunks]


def text_pdf(title: str, lines: Sequence[str]) -> bytes:
    """A PDF of ``lines`` under ``title`` (repeated on every page), with page numbers."""
    return _document(_text_pages(title, lines))


def report_pdf(report: Report, title: str, sl_target: float | None = None) -> bytes:
    """The report: page-one totals, a chart per queue (two to a page, ``sl_target`` dotted
    across the service-level axis when given), then its text."""
    first = Canvas(PAGE_H)
    first.text(MARGIN, MARGIN + TITLE_SIZE, title, TITLE_SIZE, bold=True)
    y = _kpi_tiles(first, report, MARGIN + TITLE_SIZE + 10)
    first.text(MARGIN, y + 12, "Day totals (all queues)", 10, bold=True)
    headers, rows = day_table(report)
    y = first.table(MARGIN, y + 26, [list(headers), *rows], 8)
    pages = [first]
    height = (PAGE_H - 2 * MARGIN - 10) / 2
    room = PAGE_H - MARGIN - y - 12
    for chart in queue_charts(report, sl_target):
        if room < height:
            pages.append(Canvas(PAGE_H))
            y, room = MARGIN - 12.0, PAGE_H - 2 * MARGIN
        draw_chart(pages[-1], chart, MARGIN, y + 12, PAGE_W - 2 * MARGIN, height - 12)
        y, room = y + height, room - height
    streams = [canvas.stream() for canvas in pages]
    return _document(streams + _text_pages(title, format_text(report).splitlines()))


def _kpi_tiles(canvas: Canvas, report: Report, top: float) -> float:
    """The KPI summary as grey tiles, five to a row; returns the y below them."""
    pairs = kpi_summary(report)
    per_row, gap, tile_h = 5, 6.0, 30.0
    width = (PAGE_W - 2 * MARGIN - gap * (per_row - 1)) / per_row
    for n, (label, value) in enumerate(pairs):
        x = MARGIN + (n % per_row) * (width + gap)
        y = top + (n // per_row) * (tile_h + gap)
        canvas.box(x, y, width, tile_h, "#eef1f5")
        canvas.text(x + 5, y + 10, label, 7, colour="#4a5260")
        canvas.text(x + 5, y + 24, value or "-", 12, bold=True)
    return top + -(-len(pairs) // per_row) * (tile_h + gap)


def _numbered(stream: bytes, number: int, pages: int) -> bytes:
    footer = f"page {number} of {pages}"
    x = PAGE_W - MARGIN - len(footer) * SIZE * 0.6
    at = f"0.42 0.45 0.50 rg BT /F1 {SIZE} Tf {x:.1f} {MARGIN / 2:.1f} Td"  # grey, set here
    return stream + f"\n{at} ({footer}) Tj ET".encode()  # a chart's colour must not carry on


def _document(streams: Sequence[bytes]) -> bytes:
    """The PDF file around page content streams (fonts F1 Courier, F2 Helvetica-Bold,
    F3 Helvetica), each page numbered "page n of m"."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, once the pages' numbers are known
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    kids = []
    for n, page in enumerate(streams, 1):
        stream = _numbered(page, n, len(streams))
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        content = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R /F2 4 0 R /F3 5 0 R >> >> >>"
            % (PAGE_W, PAGE_H, content)
        )
        kids.append(len(objects))
    refs = " ".join(f"{k} 0 R" for k in kids).encode()
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (refs, len(kids))
    body = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(body)
