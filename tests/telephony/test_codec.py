"""The sans-I/O AMI codec: lenient parsing, strict encoding, hard limits, fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentdesk.telephony.codec import (
    AmiEncodeError,
    AmiMessage,
    AmiParser,
    AmiProtocolError,
    BufferLimitError,
    LineTooLongError,
    TooManyHeadersError,
    encode,
    encode_banner,
)


def test_lenient_input_bare_lf_any_case_no_space_action_not_first() -> None:
    parser = AmiParser()
    data = b"actionid:7\nUSERNAME:  desk \nAction:Login\nsecret:\n\n"
    [message] = parser.feed(data)
    assert message.action == "Login"
    assert message.get("ACTIONID") == "7"
    assert message.get("username") == "desk"
    assert message.get("Secret") == ""
    assert message.keys() == ["actionid", "USERNAME", "Action", "secret"]


def test_banner_is_taken_once_and_not_a_message() -> None:
    parser = AmiParser(expect_banner=True)
    out = parser.feed(b"Asterisk Call Manager/9.0.0\r\nResponse: Success\r\n\r\n")
    assert parser.banner == "9.0.0"
    assert [m.response for m in out] == ["Success"]


def test_repeated_keys_keep_order_and_parse_as_variables() -> None:
    parser = AmiParser()
    [m] = parser.feed(
        b"Event: X\r\nChanVariable: A=1\r\nchanvariable: B=x=y\r\nChanVariable: C=\r\n\r\n"
    )
    assert m.get_all("ChanVariable") == ["A=1", "B=x=y", "C="]
    assert m.variables() == {"A": "1", "B": "x=y", "C": ""}


def test_fragmented_input_byte_by_byte_gives_same_messages() -> None:
    wire = b"Event: A\r\nX: 1\r\n\r\nEvent: B\r\n\r\n\r\nEvent: C\nY:2\n\n"
    whole = AmiParser().feed(wire)
    parser = AmiParser()
    pieces = [m for i in range(len(wire)) for m in parser.feed(wire[i : i + 1])]
    assert pieces == whole
    assert [m.event for m in whole] == ["A", "B", "C"]


def test_lines_without_colon_are_ignored_and_counted() -> None:
    parser = AmiParser()
    [m] = parser.feed(b"garbage line\r\nAction: Ping\r\n\r\n")
    assert m.action == "Ping"
    assert parser.ignored_lines == 1


def test_encode_is_strict_crlf_with_space_even_for_empty_values() -> None:
    message = AmiMessage.build(("Response", "Success"), ("AccountCode", ""), ("Count", 3))
    assert encode(message) == b"Response: Success\r\nAccountCode: \r\nCount: 3\r\n\r\n"
    assert encode_banner() == b"Asterisk Call Manager/9.0.0\r\n"


@pytest.mark.parametrize(
    "pair",
    [
        ("Bad\r\nKey", "v"),
        ("Key", "v\r\nInjected: 1"),
        ("", "v"),
        ("A:B", "v"),
        ("Key", "line\nbreak"),
    ],
)
def test_encode_rejects_header_injection(pair: tuple[str, str]) -> None:
    with pytest.raises(AmiEncodeError):
        encode(AmiMessage((pair,)))


def test_line_too_long_raises_and_resets_keeping_earlier_messages() -> None:
    parser = AmiParser(max_line=64)
    with pytest.raises(LineTooLongError) as info:
        parser.feed(b"Event: ok\r\n\r\n" + b"X: " + b"y" * 100)
    assert [m.event for m in info.value.messages] == ["ok"]
    assert parser.buffered == 0
    assert [m.event for m in parser.feed(b"Event: after\r\n\r\n")] == ["after"]


def test_unterminated_line_is_bounded_even_when_fed_slowly() -> None:
    parser = AmiParser(max_line=100)
    with pytest.raises(LineTooLongError):
        for _ in range(200):
            parser.feed(b"x")
    assert parser.buffered == 0


def test_too_many_headers_and_buffer_limit() -> None:
    with pytest.raises(TooManyHeadersError):
        AmiParser(max_headers=5).feed(b"".join(b"K%d: v\r\n" % i for i in range(6)))
    with pytest.raises(BufferLimitError):
        AmiParser(max_line=100, max_headers=1000, max_buffer=500).feed(b"Key: value\r\n" * 60)


def test_message_accessors() -> None:
    m = AmiMessage.from_mapping({"Action": "Originate", "Variable": ["A=1", "B=2"], "Async": True})
    assert m.action == "Originate"
    assert m.get_all("variable") == ["A=1", "B=2"]
    assert m["async"] == "true"
    assert "ASYNC" in m and "Nope" not in m
    with pytest.raises(KeyError):
        m["Nope"]


headers = st.lists(
    st.tuples(
        st.from_regex(r"[A-Za-z][A-Za-z0-9\-_]{0,20}", fullmatch=True),
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=40
        ).map(str.strip),
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(headers, min_size=1, max_size=5), st.data())
def test_roundtrip_any_split(messages: list[list[tuple[str, str]]], data: st.DataObject) -> None:
    wire = b"".join(encode(AmiMessage(tuple(h))) for h in messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=10)))
    parser = AmiParser(max_line=4096)
    out: list[AmiMessage] = []
    last = 0
    for cut in [*cuts, len(wire)]:
        out += parser.feed(wire[last:cut])
        last = cut
    assert [m.headers for m in out] == [tuple(h) for h in messages]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=3000), max_size=20))
def test_fuzz_random_bytes_never_crash_and_stay_bounded(chunks: list[bytes]) -> None:
    parser = AmiParser(max_line=256, max_headers=16, max_buffer=2048)
    for chunk in chunks:
        try:
            for message in parser.feed(chunk):
                assert 0 < len(message) <= 16
        except AmiProtocolError as exc:
            assert str(exc)
        assert parser.buffered <= 2048 + 256


_PIECES = st.sampled_from(
    [
        b"Event: X",
        b"Key:value",
        b" Spaced :  v ",
        b"no colon",
        b":novalue",
        b"\r\n",
        b"\n",
        b"\r",
        b" ",
        b"\t",
        b"\x0b",
        b"\x1c",  # whitespace to str.strip(), not to bytes.strip()
        b"\xc3\xa9",
        b"\xff",
        b"A" * 40,
        b"caf\xc3\xa9: cr\xc3\xa8me",
        b"Asterisk Call Manager/9.0.0",
    ]
)


def _run(parser: AmiParser, chunks: list[bytes]) -> list[object]:
    seen: list[object] = []
    for chunk in chunks:
        try:
            seen.append([(m.headers, m.parse_error) for m in parser.feed(chunk)])
        except AmiProtocolError as exc:
            seen.append((type(exc).__name__, [(m.headers, m.parse_error) for m in exc.messages]))
    seen.append((parser.ignored_lines, parser.banner, parser.buffered))
    return seen


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(_PIECES, max_size=30).map(b"".join), max_size=8),
    st.booleans(),
    st.booleans(),
)
def test_one_pass_drain_is_the_line_by_line_parse(
    chunks: list[bytes], recover: bool, banner: bool
) -> None:
    """feed's one-pass path (ASCII, no over-long line) gives exactly what the line-by-line
    parse gives: messages, cut messages, errors, ignored lines, banner, buffered bytes."""

    def parser() -> AmiParser:
        return AmiParser(
            expect_banner=banner, max_line=64, max_headers=6, max_buffer=160, recover=recover
        )

    fast, slow = parser(), parser()
    slow._drain_fast = lambda out: None  # type: ignore[method-assign]
    assert _run(fast, chunks) == _run(slow, chunks)
