"""A text-only PDF without Qt or a PDF library: lines of monospaced text, paginated.

The server e-mails reports (``report_mail.py``) and holds no Qt (the desktop's
charted PDF is drawn with QPdfWriter, ``ui/supervisor/report_pdf.py``), so the
mailed PDF is the report's tables set in Courier on landscape A4: one of the
14 standard PDF fonts, so nothing is embedded and every reader has it. Text is
encoded as WinAnsi (Latin-1 here); a character outside it is printed as "?".
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

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


def _page(title: str, lines: Sequence[str], size: float, number: int, pages: int) -> bytes:
    top, leading = PAGE_H - MARGIN, size * 1.25
    chars = int((PAGE_W - 2 * MARGIN) / (0.6 * size))
    out = [f"BT /F2 {TITLE_SIZE} Tf {MARGIN} {top - TITLE_SIZE} Td ({_text(title)}) Tj ET"]
    out.append(f"BT /F1 {size:.2f} Tf {leading:.2f} TL {MARGIN} {top - TITLE_SIZE - 20} Td")
    for line in lines:
        out.append(f"({_text(line[:chars])}) Tj T*")
    out.append("ET")
    footer = f"page {number} of {pages}"
    out.append(f"BT /F1 {SIZE} Tf {PAGE_W - MARGIN - len(footer) * SIZE * 0.6:.1f} "
               f"{MARGIN / 2:.1f} Td ({footer}) Tj ET")  # fmt: skip
    return "\n".join(out).encode("latin-1")


def text_pdf(title: str, lines: Sequence[str]) -> bytes:
    """A PDF of ``lines`` under ``title`` (repeated on every page), with page numbers."""
    lines = [part for line in lines for part in _wrapped(line)]
    size = _size(lines)
    per_page = int((PAGE_H - 2 * MARGIN - TITLE_SIZE - 20) / (size * 1.25))
    chunks = [lines[i : i + per_page] for i in range(0, len(lines), per_page)] or [[]]
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, once the pages' numbers are known
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
    ]
    kids = []
    for n, chunk in enumerate(chunks, 1):
        stream = _page(title, chunk, size, n, len(chunks))
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        content = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> >>" % (PAGE_W, PAGE_H, content)
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
