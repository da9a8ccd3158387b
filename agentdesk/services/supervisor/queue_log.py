"""Reader for Asterisk's ``queue_log``: lines in, typed records out, problems counted, no crash.

Line format (``/var/log/asterisk/queue_log``)::

    epoch|callid|queuename|agent|event|data1|data2|...

``callid`` is the caller channel's uniqueid (or ``NONE``/``REALTIME``),
``agent`` the member name (``NONE`` when no member is involved). The number
of data fields varies by event and by Asterisk version: 1.2-era files lack
CONNECT's ringtime and TRANSFER's origposition, Asterisk 12+ added
BLINDTRANSFER/ATTENDEDTRANSFER, realtime exports pad to ``data1..data5`` and
may carry an ISO timestamp instead of epoch seconds. All of these parse:
missing trailing fields read as ``None``, padding is dropped, unknown events
are kept with their raw data.

A line is *skipped* (and reported with its number and the reason) when it
has fewer than five fields, no event name, an unreadable or absurd
timestamp, a NUL byte, or is longer than the line limit. A kept record whose
numeric field is not a number is *flagged* (reported, but kept; the field
reads as ``None``). Reading a file streams it with bounded memory.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

# Meaning of the data fields per event (Asterisk's "Queue Logs" reference, app_queue.c).
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "ENTERQUEUE": ("url", "callerid", "position"),
    "CONNECT": ("holdtime", "bridged_uniqueid", "ringtime"),
    "COMPLETECALLER": ("holdtime", "calltime", "origposition"),
    "COMPLETEAGENT": ("holdtime", "calltime", "origposition"),
    "ABANDON": ("position", "origposition", "waittime"),
    "EXITWITHTIMEOUT": ("position", "origposition", "waittime"),
    "EXITWITHKEY": ("key", "position", "origposition", "waittime"),
    "EXITEMPTY": ("position", "origposition", "waittime"),
    # QueueWithdrawCaller (18.11+/20): "%d|%d|%ld|%.40s" in app_queue.c.
    "WITHDRAW": ("position", "origposition", "waittime", "withdrawinfo"),
    "RINGNOANSWER": ("ringtime_ms",),
    "RINGCANCELED": ("ringtime_ms",),
    "TRANSFER": ("extension", "context", "holdtime", "calltime", "origposition"),
    "BLINDTRANSFER": ("extension", "context", "holdtime", "calltime", "origposition"),
    # method is BRIDGE, APP or LINK; LINK carries two channel names, so the
    # last three fields are located from the end (see QueueLogRecord.field).
    "ATTENDEDTRANSFER": ("method", "method_data", "holdtime", "calltime", "origposition"),
    "ADDMEMBER": (),
    "REMOVEMEMBER": (),
    "PAUSE": ("reason",),
    "UNPAUSE": ("reason",),
    "PAUSEALL": ("reason",),
    "UNPAUSEALL": ("reason",),
    "AGENTLOGIN": ("channel",),
    "AGENTLOGOFF": ("channel", "logintime"),
    "QUEUESTART": (),
    "CONFIGRELOAD": (),
    "SYSCOMPAT": (),
    "DID": ("did",),
    "INFO": ("info",),
}
_TAIL_ANCHORED = {"ATTENDEDTRANSFER": ("holdtime", "calltime", "origposition")}
INTEGER_FIELDS = frozenset(
    {"holdtime", "ringtime", "calltime", "origposition", "position", "waittime", "ringtime_ms",
     "logintime"}
)  # fmt: skip

# Per event: field name -> index in data (negative: counted from the end, for the
# tail-anchored fields), and the indices of its integer fields (parsing speed).
_FIELD_INDEX: dict[str, dict[str, int]] = {
    event: {name: index for index, name in reversed(list(enumerate(names)))}
    for event, names in EVENT_FIELDS.items()
}
for _event, _tail in _TAIL_ANCHORED.items():
    _FIELD_INDEX[_event].update({name: index - len(_tail) for index, name in enumerate(_tail)})
_INT_INDEX: dict[str, tuple[int, ...]] = {
    event: tuple(at for name, at in _FIELD_INDEX[event].items() if name in INTEGER_FIELDS)
    for event in EVENT_FIELDS
}
_INT_NAMES: dict[str, tuple[str, ...]] = {
    event: tuple(name for name in names if name in INTEGER_FIELDS)
    for event, names in EVENT_FIELDS.items()
}
_NO_FIELDS: dict[str, int] = {}

# Timestamps outside [1970, 2200) are corruption, not calls.
_MAX_EPOCH = 7_258_118_400.0
_ISO_TS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}")
_EPOCH = re.compile(r"[0-9]{1,11}(\.[0-9]{1,9})?")
_INTEGER = re.compile(r"(-?[0-9]{1,18})(\.0+)?")
DEFAULT_MAX_LINE_BYTES = 64 * 1024
_EXCERPT = 80


class QueueLogRecord(NamedTuple):
    """One queue_log line: when, which call, queue and member, what happened, and its data.

    A named tuple rather than a frozen dataclass: a year of queue_log is a
    million of them, and a tuple is built in a third of the time.
    """

    line_no: int
    timestamp: float
    call_id: str
    queue: str
    agent: str
    event: str
    data: tuple[str, ...]

    @property
    def known(self) -> bool:
        return self.event in EVENT_FIELDS

    def field(self, name: str) -> str | None:
        """A data field by its Asterisk name (``holdtime``, ``reason`` …); None if absent."""
        at = _FIELD_INDEX.get(self.event, _NO_FIELDS).get(name)
        if at is None:
            return None
        data = self.data
        if at < 0:  # tail-anchored (ATTENDEDTRANSFER): after method and method_data
            at += len(data)
            return data[at] if at >= 2 else None
        return data[at] if at < len(data) else None

    def int_field(self, name: str) -> int | None:
        """A numeric field as an int; None if absent or not a number."""
        return _to_int(self.field(name))

    @property
    def has_member(self) -> bool:
        return self.agent not in ("", "NONE")


@dataclass(frozen=True, slots=True)
class ParseIssue:
    """A problem found in one line: its number, why, and the start of its text."""

    line_no: int
    reason: str
    excerpt: str
    skipped: bool


@dataclass(frozen=True)
class ParseSummary:
    """What a read saw: line counts, skipped lines and the first issues with their reasons."""

    lines: int
    records: int
    blank: int
    skipped: int
    flagged: int
    unknown_events: tuple[tuple[str, int], ...]
    issues: tuple[ParseIssue, ...]
    issues_dropped: int

    def describe(self) -> str:
        text = f"{self.lines} lines, {self.records} records, {self.skipped} skipped"
        if self.flagged:
            text += f", {self.flagged} flagged"
        if self.unknown_events:
            names = ", ".join(f"{name}×{count}" for name, count in self.unknown_events)
            text += f"; unknown events kept: {names}"
        return text


def _to_int(text: str | None) -> int | None:
    """ASCII digits only: int() alone would take "1_000" or Arabic-Indic digits."""
    if text is None:
        return None
    if text.isdigit() and text.isascii() and len(text) <= 18:  # the common case, fast
        return int(text)
    match = _INTEGER.fullmatch(text.strip())
    return int(match.group(1)) if match else None


def _plain_numbers(data: list[str], indices: tuple[int, ...]) -> bool:
    """True when each integer field at ``indices`` that is present is plain ASCII digits."""
    size = len(data)
    for at in indices:
        if at < 0:
            at += size
            if at < 2:
                continue
        elif at >= size:
            continue
        value = data[at]
        if not (value.isdigit() and value.isascii() and len(value) <= 18):
            return False
    return True


def parse_timestamp(text: str) -> float | None:
    """Epoch seconds from ``1366720340``, ``1366720340.25`` or an ISO date-time (naive = UTC)."""
    if text.isdigit() and text.isascii() and len(text) <= 11:  # the common case, fast
        value = float(text)
        return value if value < _MAX_EPOCH else None
    text = text.strip()
    if _EPOCH.fullmatch(text):
        value = float(text)
    elif _ISO_TS.match(text) and len(text) <= 40:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        value = moment.timestamp()
    else:
        return None
    return value if 0.0 <= value < _MAX_EPOCH else None


class QueueLogReader:
    """Turns queue_log lines into ``QueueLogRecord``s, counting and keeping what went wrong.

    Use one reader per file: ``for record in reader.read_file(path): ...``,
    then ``reader.summary()``. At most ``max_issues`` issues are kept (the
    rest are counted), so a garbage file cannot exhaust memory.
    """

    def __init__(
        self, *, max_issues: int = 1000, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    ) -> None:
        self._max_issues = max_issues
        self._max_line_bytes = max_line_bytes
        self._issues: list[ParseIssue] = []
        self._issues_dropped = 0
        self._unknown: Counter[str] = Counter()
        self.lines = 0
        self.records = 0
        self.blank = 0
        self.skipped = 0
        self.flagged = 0

    def _report(self, line_no: int, reason: str, text: str, *, skipped: bool) -> None:
        if skipped:
            self.skipped += 1
        else:
            self.flagged += 1
        if len(self._issues) < self._max_issues:
            excerpt = text[:_EXCERPT].encode("unicode_escape").decode("ascii")
            self._issues.append(ParseIssue(line_no, reason, excerpt, skipped))
        else:
            self._issues_dropped += 1

    def parse_line(self, line: str | bytes, line_no: int) -> QueueLogRecord | None:
        """Parse one line (with or without its newline); None for blank or skipped lines."""
        self.lines += 1
        if len(line) > self._max_line_bytes:  # bytes, or characters of a str line
            self._report(
                line_no, f"line longer than {self._max_line_bytes} bytes", "", skipped=True
            )
            return None
        if isinstance(line, bytes):
            line = line.decode("utf-8", errors="replace")
        text = line.rstrip("\r\n")
        if text[:1] == "\ufeff":
            text = text.lstrip("\ufeff")
        parts = text.split("|")
        if len(parts) < 5 or "\x00" in text:
            self._skip_malformed(text, parts, line_no)
            return None
        stamp = parts[0]
        if stamp.isdigit() and stamp.isascii() and len(stamp) <= 11:  # the common case, fast
            seconds = float(stamp)
            timestamp = seconds if seconds < _MAX_EPOCH else None
        else:
            timestamp = parse_timestamp(stamp)
        if timestamp is None:
            self._report(line_no, f"bad timestamp {stamp[:30]!r}", text, skipped=True)
            return None
        event = parts[4]
        if event not in _INT_INDEX:  # unknown, or needs trimming or upper-casing
            event = event.strip().upper()
            if not event:
                self._report(line_no, "no event name", text, skipped=True)
                return None
        data = parts[5:]
        while data and not data[-1].strip():  # realtime exports pad to data1..data5
            data.pop()
        record = QueueLogRecord(
            line_no, timestamp, parts[1].strip(), parts[2].strip(), parts[3].strip(), event,
            tuple(data),
        )  # fmt: skip
        self.records += 1
        numbers = _INT_INDEX.get(event)
        if numbers is None:
            self._unknown[event] += 1
        elif not _plain_numbers(data, numbers):
            self._check_numbers(record, text)
        return record

    def _skip_malformed(self, text: str, parts: list[str], line_no: int) -> None:
        """A blank line, or one skipped for a NUL byte or too few fields (in that order)."""
        if not text.strip():
            self.blank += 1
        elif "\x00" in text:
            self._report(line_no, "contains a NUL byte", text, skipped=True)
        else:
            self._report(line_no, f"{len(parts)} fields, need at least 5", text, skipped=True)

    def _check_numbers(self, record: QueueLogRecord, text: str) -> None:
        for name in _INT_NAMES[record.event]:
            value = record.field(name)
            if value is None or (value.isdigit() and value.isascii() and len(value) <= 18):
                continue
            if value.strip() and record.int_field(name) is None:
                reason = f"{record.event}: {name} {value[:20]!r} is not an integer"
                self._report(record.line_no, reason, text, skipped=False)
                return

    def read_lines(
        self, lines: Iterable[str | bytes], first_line_no: int = 1
    ) -> Iterator[QueueLogRecord]:
        """Records from an iterable of lines (a list, a socket's lines, an open text file)."""
        for line_no, line in enumerate(lines, start=first_line_no):
            record = self.parse_line(line, line_no)
            if record is not None:
                yield record

    def read_file(self, path: str | Path, block_bytes: int = 1 << 20) -> Iterator[QueueLogRecord]:
        """Stream records from a file; over-long lines are skipped without being held in memory.

        Reads ``block_bytes`` at a time and cuts whole lines out of each block
        (much faster than a ``readline`` per line); at most one block plus one
        line of at most ``max_line_bytes`` is held.
        """
        limit = self._max_line_bytes
        parse = self.parse_line
        line_no = 0
        rest = b""
        skipping = False  # inside an over-long line: drop up to its newline
        with open(path, "rb") as handle:
            while True:
                block = handle.read(block_bytes)
                if not block:
                    break
                cut = block.rfind(b"\n")
                if cut < 0:  # no line ends in this block
                    if not skipping:
                        rest += block
                        if len(rest) > limit:
                            line_no += 1
                            self.lines += 1
                            self._report(
                                line_no, f"line longer than {limit} bytes", "", skipped=True
                            )
                            rest, skipping = b"", True
                    continue
                head, tail = block[: cut + 1], block[cut + 1 :]
                if skipping:
                    first = head.find(b"\n")
                    head, skipping = head[first + 1 :], False
                lines = (rest + head).split(b"\n")
                lines.pop()  # after the last newline: empty
                rest = tail
                for line in lines:
                    line_no += 1
                    record = parse(line, line_no)
                    if record is not None:
                        yield record
                if len(rest) > limit:
                    line_no += 1
                    self.lines += 1
                    self._report(line_no, f"line longer than {limit} bytes", "", skipped=True)
                    rest, skipping = b"", True
        if rest and not skipping:
            line_no += 1
            record = parse(rest, line_no)
            if record is not None:
                yield record

    def summary(self) -> ParseSummary:
        return ParseSummary(
            lines=self.lines,
            records=self.records,
            blank=self.blank,
            skipped=self.skipped,
            flagged=self.flagged,
            unknown_events=tuple(sorted(self._unknown.items())),
            issues=tuple(self._issues),
            issues_dropped=self._issues_dropped,
        )


def read_queue_log(path: str | Path) -> tuple[list[QueueLogRecord], ParseSummary]:
    """Read a whole (small) file into memory; prefer ``QueueLogReader.read_file`` for big ones."""
    reader = QueueLogReader()
    records = list(reader.read_file(path))
    return records, reader.summary()
