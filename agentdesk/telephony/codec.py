"""Sans-I/O codec for the Asterisk Manager Interface (AMI).

Bytes in, :class:`AmiMessage` out, and back. Input is parsed leniently, the
way Asterisk's ``get_input()`` does (CRLF or bare LF, any key case,
``Key:value`` without a space, repeated keys, ``Action`` anywhere in the
message, the ``Asterisk Call Manager/x.y.z`` banner line). Output is strict:
CRLF line ends and ``Key: Value`` with one space, even for an empty value.

Hard limits on line length, headers per message and buffered bytes keep a
hostile or broken peer from exhausting memory; breaking one raises an
:class:`AmiProtocolError` subclass and resets the parser.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

BANNER_PREFIX = "Asterisk Call Manager/"
#: AMI version of Asterisk 20 (include/asterisk/manager.h).
AMI_VERSION = "9.0.0"
CRLF = b"\r\n"

# Asterisk caps a message at AST_MAX_MANHEADERS (128) headers. Events from a
# PBX with many channelvars can carry long lines, so a client wants more room
# than the server's 1 KiB input buffer; both are configurable.
DEFAULT_MAX_LINE = 8192
DEFAULT_MAX_HEADERS = 128
DEFAULT_MAX_BUFFER = 256 * 1024


class AmiProtocolError(ValueError):
    """The peer broke the AMI framing or one of the codec's hard limits.

    ``messages`` holds the messages completed in the same ``feed`` call before
    the error, so a caller can still act on them before closing.
    """

    def __init__(self, text: str, messages: tuple[AmiMessage, ...] = ()) -> None:
        super().__init__(text)
        self.messages = messages


class LineTooLongError(AmiProtocolError):
    """A header line was longer than the configured maximum."""


class TooManyHeadersError(AmiProtocolError):
    """A message carried more headers than the configured maximum."""


class BufferLimitError(AmiProtocolError):
    """A single message (or unterminated input) exceeded the buffered-bytes limit."""


class AmiEncodeError(ValueError):
    """A message cannot be written: a key or value would break the framing."""


@dataclass(frozen=True, slots=True)
class AmiMessage:
    """One AMI message: ordered ``(key, value)`` pairs, looked up case-insensitively.

    Order and repeated keys (``ChanVariable``, ``Variable``) are kept exactly as
    received or built, since some consumers parse AMI by position.
    """

    headers: tuple[tuple[str, str], ...]
    #: Set by a parser in ``recover`` mode on a message it had to cut (Asterisk's
    #: ``Failed to parse message: line too long``); None for a message read whole.
    parse_error: str | None = None

    @classmethod
    def build(cls, *pairs: tuple[str, object], **named: object) -> AmiMessage:
        """Build a message from ``(key, value)`` pairs then keyword headers, in order."""
        items = [(k, _text(v)) for k, v in pairs]
        items.extend((k, _text(v)) for k, v in named.items())
        return cls(tuple(items))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, object]) -> AmiMessage:
        """Build a message from a mapping; a list or tuple value becomes repeated headers."""
        items: list[tuple[str, str]] = []
        for key, value in mapping.items():
            if isinstance(value, list | tuple):
                items.extend((key, _text(v)) for v in value)
            else:
                items.append((key, _text(value)))
        return cls(tuple(items))

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value for ``key`` (case-insensitive), or ``default``."""
        wanted = key.lower()
        for k, v in self.headers:
            if k.lower() == wanted:
                return v
        return default

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def get_all(self, key: str) -> list[str]:
        """Every value for a repeated ``key`` (case-insensitive), in order."""
        wanted = key.lower()
        return [v for k, v in self.headers if k.lower() == wanted]

    def variables(self, key: str = "ChanVariable") -> dict[str, str]:
        """Parse repeated ``NAME=value`` headers (``ChanVariable``, ``Variable``) into a dict."""
        out: dict[str, str] = {}
        for item in self.get_all(key):
            name, sep, value = item.partition("=")
            if sep:
                out[name] = value
        return out

    def keys(self) -> list[str]:
        """Header names in order, repeats included."""
        return [k for k, _ in self.headers]

    def with_headers(self, *pairs: tuple[str, object]) -> AmiMessage:
        """A copy with ``pairs`` appended."""
        return AmiMessage(self.headers + tuple((k, _text(v)) for k, v in pairs))

    @property
    def event(self) -> str | None:
        """The ``Event`` name, if this is an event."""
        return self.get("Event")

    @property
    def response(self) -> str | None:
        """The ``Response`` value (``Success``, ``Error``, ``Goodbye``), if this is a response."""
        return self.get("Response")

    @property
    def action(self) -> str | None:
        """The ``Action`` name, if this is an action."""
        return self.get("Action")

    @property
    def action_id(self) -> str | None:
        """The ``ActionID`` that correlates a response or list item with its action."""
        return self.get("ActionID")

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.headers)

    def __len__(self) -> int:
        return len(self.headers)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _check_token(text: str, what: str) -> None:
    if "\r" in text or "\n" in text:
        raise AmiEncodeError(f"AMI {what} must not contain CR or LF: {text[:40]!r}")


def encode(message: AmiMessage | Iterable[tuple[str, str]]) -> bytes:
    """Write a message strictly: ``Key: Value`` CRLF lines and one empty CRLF line.

    Raises :class:`AmiEncodeError` if a key is empty or contains ``:``, or a key
    or value contains CR/LF (which would let a value inject headers).
    """
    pairs = message.headers if isinstance(message, AmiMessage) else tuple(message)
    parts: list[str] = []
    for key, value in pairs:
        if not key or ":" in key:
            raise AmiEncodeError(f"invalid AMI header name: {key!r}")
        _check_token(key, "header name")
        _check_token(value, "header value")
        parts.append(f"{key}: {value}\r\n")
    parts.append("\r\n")
    return "".join(parts).encode("utf-8", "replace")


def encode_banner(version: str = AMI_VERSION) -> bytes:
    """The greeting Asterisk writes on accept: the banner line alone, no blank line."""
    _check_token(version, "version")
    return f"{BANNER_PREFIX}{version}\r\n".encode("ascii", "replace")


class AmiParser:
    """Incremental, lenient AMI parser with hard limits.

    Feed it bytes as they arrive; it returns the messages completed so far.
    With ``expect_banner`` (the client side) the first line is taken as the
    banner if it starts with ``Asterisk Call Manager/``; see :attr:`banner`.
    Lines without a colon are ignored, as Asterisk's header lookup ignores them.

    With ``recover`` (the server side, as Asterisk's ``get_input``/``do_message``)
    an over-long line or a header past ``max_headers`` does not raise: the line is
    discarded up to its newline (never buffered), the headers already read are
    kept, and the message is still delivered at its blank line with
    :attr:`AmiMessage.parse_error` set, so the reply can carry its ActionID.
    """

    def __init__(
        self,
        *,
        expect_banner: bool = False,
        max_line: int = DEFAULT_MAX_LINE,
        max_headers: int = DEFAULT_MAX_HEADERS,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        recover: bool = False,
    ) -> None:
        self.max_line = max_line
        self.recover = recover
        self._skipping = False  # discarding the rest of an over-long line
        self._cut: str | None = None  # why the current message is incomplete
        self.max_headers = max_headers
        self.max_buffer = max_buffer
        self.banner: str | None = None
        self.ignored_lines = 0
        self._expect_banner = expect_banner
        self._buffer = bytearray()
        self._scan_from = 0
        self._headers: list[tuple[str, str]] = []
        self._message_bytes = 0

    def reset(self) -> None:
        """Drop any partial input (after an error, or to resynchronise on a new connection)."""
        self._buffer.clear()
        self._scan_from = 0
        self._headers = []
        self._message_bytes = 0
        self._skipping = False
        self._cut = None

    @property
    def buffered(self) -> int:
        """Bytes held for an incomplete message (bounded by ``max_buffer``)."""
        return len(self._buffer) + self._message_bytes

    def feed(self, data: bytes) -> list[AmiMessage]:
        """Consume ``data`` and return every message it completed.

        Raises an :class:`AmiProtocolError` subclass (carrying the messages
        completed before it) when a limit is broken; the parser is then reset.
        """
        out: list[AmiMessage] = []
        self._buffer += data
        try:
            if not self._skipping and not self._expect_banner:
                self._drain_fast(out)
            self._drain(out)
        except AmiProtocolError as exc:
            self.reset()
            exc.messages = tuple(out)
            raise
        return out

    def _drain_fast(self, out: list[AmiMessage]) -> None:
        """The complete lines buffered, in one pass, when none is over ``max_line`` (then no
        line limit can be hit): split once, each line decoded once, no per-line copies out
        of the buffer or method calls; the same messages, counts and errors as
        :meth:`_take_line` line by line. Anything else is left to :meth:`_drain`."""
        buf = self._buffer
        last = buf.rfind(b"\n")
        if last < 0:
            return
        lines = bytes(buf[:last]).split(b"\n")
        if max(map(len, lines)) > self.max_line:
            return
        del buf[: last + 1]
        self._scan_from = 0
        headers = self._headers
        size = self._message_bytes
        cut = self._cut
        max_headers, max_buffer, recover = self.max_headers, self.max_buffer, self.recover
        ignored = 0
        append = out.append
        try:
            for raw in lines:
                if raw[-1:] == b"\r":
                    raw = raw[:-1]
                if not raw.strip():
                    if headers or cut:
                        append(AmiMessage(tuple(headers), cut))
                        headers = []
                        size = 0
                        cut = None
                    continue
                key, sep, value = raw.decode("utf-8", "replace").partition(":")
                key = key.strip()
                if not sep or not key:
                    ignored += 1
                    continue
                if len(headers) >= max_headers:
                    if not recover:
                        raise TooManyHeadersError(
                            f"AMI message has more than {max_headers} headers"
                        )
                    cut = cut or "too many lines"
                    continue
                if recover and size + len(raw) > max_buffer:
                    cut = cut or "too many lines"
                    continue
                headers.append((key, value.strip()))
                size += len(raw)
                if size > max_buffer:
                    raise BufferLimitError(f"AMI message exceeds {max_buffer} buffered bytes")
        finally:
            self._headers, self._message_bytes, self._cut = headers, size, cut
            self.ignored_lines += ignored

    def _drain(self, out: list[AmiMessage]) -> None:
        buf = self._buffer
        start = 0
        while True:
            end = buf.find(b"\n", max(start, self._scan_from))
            if end < 0:
                break
            if self._skipping or end - start > self.max_line:
                if not self.recover:
                    raise LineTooLongError(f"AMI line too long (limit {self.max_line} bytes)")
                # The tail of a line already found too long, or a whole one: drop it.
                self._skipping = False
                self._cut = self._cut or "line too long"
                start = end + 1
                self._scan_from = start
                continue
            line = bytes(buf[start:end])
            start = end + 1
            self._scan_from = start
            self._take_line(line, out)
        if start:
            del buf[:start]
            self._scan_from = 0
        if len(buf) > self.max_line:
            if not self.recover:
                raise LineTooLongError(f"AMI line too long (limit {self.max_line} bytes)")
            # No newline yet and already too long: discard what we have and the rest of
            # the line as it arrives, so a 10 MB line never sits in memory.
            buf.clear()
            self._skipping = True
            self._cut = self._cut or "line too long"
        self._scan_from = len(buf)
        if self.buffered > self.max_buffer:
            raise BufferLimitError(f"AMI message exceeds {self.max_buffer} buffered bytes")

    def _take_line(self, raw: bytes, out: list[AmiMessage]) -> None:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if not raw.strip():
            if self._headers or self._cut:
                out.append(AmiMessage(tuple(self._headers), self._cut))
                self._headers = []
                self._message_bytes = 0
                self._cut = None
            return
        text = raw.decode("utf-8", "replace")
        if self._expect_banner and self.banner is None and not self._headers:
            self._expect_banner = False
            if text.startswith(BANNER_PREFIX):
                self.banner = text[len(BANNER_PREFIX) :].strip()
                return
        key, sep, value = text.partition(":")
        key = key.strip()
        if not sep or not key:
            self.ignored_lines += 1
            return
        if len(self._headers) >= self.max_headers:
            if not self.recover:
                raise TooManyHeadersError(f"AMI message has more than {self.max_headers} headers")
            self._cut = self._cut or "too many lines"
            return
        if self.recover and self._message_bytes + len(raw) > self.max_buffer:
            self._cut = self._cut or "too many lines"
            return
        # Asterisk skips blanks after the colon; trailing blanks are not meaningful either.
        self._headers.append((key, value.strip()))
        self._message_bytes += len(raw)
        if self._message_bytes > self.max_buffer:
            raise BufferLimitError(f"AMI message exceeds {self.max_buffer} buffered bytes")
