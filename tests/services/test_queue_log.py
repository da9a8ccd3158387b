"""The queue_log reader: field meanings per event, old and new forms, bad input never crashing."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentdesk.services.supervisor.queue_log import (
    EVENT_FIELDS,
    QueueLogReader,
    parse_timestamp,
    read_queue_log,
)

FIXTURES = Path(__file__).parent / "fixtures" / "queue_log"


def one(line: str) -> QueueLogReader:
    reader = QueueLogReader()
    list(reader.read_lines([line]))
    return reader


def parse(line: str):  # type: ignore[no-untyped-def]
    records = list(QueueLogReader().read_lines([line]))
    assert len(records) == 1, line
    return records[0]


def test_connect_fields() -> None:
    record = parse("1366720340|1366720340.303267|MYQUEUE|SIP/8007|CONNECT|12|1366720345.303270|4")
    assert record.timestamp == 1366720340
    assert (record.call_id, record.queue, record.agent) == (
        "1366720340.303267",
        "MYQUEUE",
        "SIP/8007",
    )
    assert record.int_field("holdtime") == 12
    assert record.field("bridged_uniqueid") == "1366720345.303270"
    assert record.int_field("ringtime") == 4
    assert record.known and record.has_member


def test_old_connect_without_ringtime_and_old_transfer_without_origposition() -> None:
    connect = parse("1100000000|1100000000.1|q|Agent/1|CONNECT|7|1100000003.2")
    assert connect.int_field("holdtime") == 7
    assert connect.int_field("ringtime") is None
    transfer = parse("1100000100|1100000000.1|q|Agent/1|TRANSFER|200|default|7|93")
    assert transfer.int_field("calltime") == 93
    assert transfer.int_field("origposition") is None


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("1|c|q|a|COMPLETECALLER|15|240|2", {"holdtime": 15, "calltime": 240, "origposition": 2}),
        ("1|c|q|a|COMPLETEAGENT|15|240|2", {"holdtime": 15, "calltime": 240, "origposition": 2}),
        ("1|c|q|NONE|ABANDON|3|5|41", {"position": 3, "origposition": 5, "waittime": 41}),
        ("1|c|q|NONE|EXITWITHTIMEOUT|1|2|300", {"position": 1, "origposition": 2, "waittime": 300}),
        ("1|c|q|NONE|EXITEMPTY|1|1|0", {"position": 1, "origposition": 1, "waittime": 0}),
        ("1|c|q|NONE|EXITWITHKEY|5|2|3|17", {"position": 2, "origposition": 3, "waittime": 17}),
        ("1|c|q|a|RINGNOANSWER|15000", {"ringtime_ms": 15000}),
        ("1|c|q|a|RINGCANCELED|2500", {"ringtime_ms": 2500}),
        ("1|c|q|a|BLINDTRANSFER|6000|from-internal|4|240|1", {"holdtime": 4, "calltime": 240}),
        ("1|NONE|NONE|a|AGENTLOGOFF|PJSIP/1003|1800", {"logintime": 1800}),
    ],
)
def test_numeric_fields_by_event(line: str, expected: dict[str, int]) -> None:
    record = parse(line)
    for name, value in expected.items():
        assert record.int_field(name) == value, name


def test_text_fields() -> None:
    assert parse("1|c|q|NONE|EXITWITHKEY|5|2|3|17").field("key") == "5"
    assert parse("1|NONE|q|a|PAUSE|Lunch break").field("reason") == "Lunch break"
    assert parse("1|NONE|q|a|UNPAUSE|").field("reason") is None
    assert parse("1|c|NONE|NONE|DID|+442079460000").field("did") == "+442079460000"
    enter = parse("1|c|q|NONE|ENTERQUEUE||+447700900123|1")
    assert enter.field("url") == "" and enter.field("callerid") == "+447700900123"
    assert enter.int_field("position") == 1


def test_attended_transfer_bridge_and_link_forms() -> None:
    bridge = parse("1|c|q|a|ATTENDEDTRANSFER|BRIDGE|1709543250.140|30|180|1")
    assert bridge.field("method") == "BRIDGE"
    assert bridge.field("method_data") == "1709543250.140"
    assert (bridge.int_field("holdtime"), bridge.int_field("calltime")) == (30, 180)
    link = parse("1|c|q|a|ATTENDEDTRANSFER|LINK|PJSIP/1002-00000012|PJSIP/2001-00000013|2|60|1")
    assert link.field("method") == "LINK"
    assert [link.int_field(n) for n in ("holdtime", "calltime", "origposition")] == [2, 60, 1]
    short = parse("1|c|q|a|ATTENDEDTRANSFER|APP|Dial")
    assert short.int_field("holdtime") is None


def test_every_listed_event_is_known() -> None:
    wanted = {
        "ENTERQUEUE", "CONNECT", "COMPLETECALLER", "COMPLETEAGENT", "ABANDON", "EXITWITHTIMEOUT",
        "EXITWITHKEY", "EXITEMPTY", "RINGNOANSWER", "RINGCANCELED", "TRANSFER", "BLINDTRANSFER",
        "ATTENDEDTRANSFER", "ADDMEMBER", "REMOVEMEMBER", "PAUSE", "UNPAUSE", "PAUSEALL",
        "UNPAUSEALL", "AGENTLOGIN", "AGENTLOGOFF", "QUEUESTART", "CONFIGRELOAD", "SYSCOMPAT",
        "DID", "INFO",
    }  # fmt: skip
    assert wanted <= set(EVENT_FIELDS)


def test_realtime_padding_crlf_bom_and_float_epoch() -> None:
    record = parse("\ufeff1709542830.25|c|q|NONE|ENTERQUEUE||+44|1|||\r\n")
    assert record.timestamp == 1709542830.25
    assert record.data == ("", "+44", "1")


def test_iso_timestamps_from_database_exports() -> None:
    assert parse_timestamp("2012-07-03 15:27:23.896208") == pytest.approx(1341329243.896208)
    assert parse_timestamp("2012-07-03T15:27:23+02:00") == 1341329243 - 7200
    assert parse_timestamp("2012-13-45 99:00:00") is None


def test_unknown_events_are_kept_and_counted() -> None:
    reader = QueueLogReader()
    records = list(reader.read_lines(["1|c|q|NONE|CUSTOMSURVEY|5", "2|c|q|NONE|customsurvey|4"]))
    assert [r.event for r in records] == ["CUSTOMSURVEY", "CUSTOMSURVEY"]
    assert not records[0].known
    assert records[0].field("anything") is None
    assert reader.summary().unknown_events == (("CUSTOMSURVEY", 2),)


def test_malformed_fixture_counts_and_reasons() -> None:
    records, summary = read_queue_log(FIXTURES / "malformed.log")
    assert summary.lines == 16
    assert summary.blank == 1
    assert summary.records == 7
    assert summary.skipped == 8
    assert summary.flagged == 1
    reasons = {issue.line_no: issue.reason for issue in summary.issues}
    assert reasons[3] == "1 fields, need at least 5"
    assert reasons[4] == "4 fields, need at least 5"
    assert reasons[5].startswith("bad timestamp 'yesterday'")
    assert reasons[6] == "no event name"
    assert reasons[7] == "contains a NUL byte"
    assert reasons[8].startswith("bad timestamp '-5'")
    assert reasons[9].startswith("bad timestamp '99999999999999'")
    assert reasons[11] == "CONNECT: holdtime 'ten' is not an integer"
    assert reasons[14].startswith("bad timestamp")
    assert set(reasons) == {3, 4, 5, 6, 7, 8, 9, 11, 14}
    flagged = next(i for i in summary.issues if i.line_no == 11)
    assert not flagged.skipped
    caller = next(r for r in records if r.call_id == "c2" and r.event == "ENTERQUEUE")
    assert caller.field("callerid") == "Jos\ufffd \ufffd"  # bad UTF-8 replaced, line kept
    connect = next(r for r in records if r.event == "CONNECT")
    assert connect.int_field("holdtime") is None
    assert summary.unknown_events == (("WEIRDEVENT", 1),)
    assert "8 skipped" in summary.describe()


def test_over_long_lines_are_skipped_without_being_held(tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    with open(path, "wb") as handle:
        handle.write(b"1|c|q|NONE|ENTERQUEUE||+44|1\n")
        handle.write(b"2|c|q|NONE|INFO|" + b"x" * 300_000 + b"\n")
        handle.write(b"3|c|q|NONE|ABANDON|1|1|2")  # no final newline
    reader = QueueLogReader(max_line_bytes=1024)
    records = list(reader.read_file(path))
    assert [r.timestamp for r in records] == [1, 3]
    summary = reader.summary()
    assert summary.lines == 3 and summary.skipped == 1
    assert summary.issues[0].line_no == 2
    assert summary.issues[0].reason == "line longer than 1024 bytes"
    assert one("1|c|q|a|INFO|" + "y" * 70_000).summary().skipped == 1


def test_issue_list_is_capped_but_everything_is_counted() -> None:
    reader = QueueLogReader(max_issues=3)
    list(reader.read_lines(["garbage"] * 10))
    summary = reader.summary()
    assert summary.skipped == 10
    assert len(summary.issues) == 3
    assert summary.issues_dropped == 7


def test_integer_fields_accept_only_ascii_digits() -> None:
    assert parse("1|c|q|a|CONNECT|1_000|b|2").int_field("holdtime") is None
    assert parse("1|c|q|a|CONNECT|\u0661\u0662|b|2").int_field("holdtime") is None
    assert parse("1|c|q|a|CONNECT|12.0|b|2").int_field("holdtime") == 12
    assert parse("1|c|q|a|CONNECT|-3|b|2").int_field("holdtime") == -3


def test_missing_file_raises_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        read_queue_log(tmp_path / "nope")


@given(st.lists(st.one_of(st.text(max_size=200), st.binary(max_size=200)), max_size=30))
def test_any_input_is_counted_never_crashes(lines: list[str | bytes]) -> None:
    reader = QueueLogReader(max_line_bytes=150)
    records = list(reader.read_lines(lines))
    summary = reader.summary()
    assert summary.lines == len(lines)
    assert summary.records == len(records)
    assert summary.records + summary.blank + summary.skipped == summary.lines
    for record in records:
        assert 0 <= record.timestamp < 7_258_118_400
        assert record.event
        for name in ("holdtime", "calltime", "waittime", "reason"):
            record.field(name)
            record.int_field(name)


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=4_000_000_000),
            st.sampled_from(sorted(EVENT_FIELDS)),
            st.lists(st.text(alphabet="0123456789abc-/ ", max_size=8), max_size=7),
        ),
        max_size=20,
    )
)
def test_well_formed_lines_round_trip(rows: list[tuple[int, str, list[str]]]) -> None:
    lines = [f"{ts}|call|queue|agent|{event}|{'|'.join(data)}" for ts, event, data in rows]
    records = list(QueueLogReader().read_lines(lines))
    assert [(r.timestamp, r.event) for r in records] == [(ts, event) for ts, event, _ in rows]
    for record, (_, _, data) in zip(records, rows, strict=True):
        stripped = list(data)
        while stripped and not stripped[-1].strip():
            stripped.pop()
        assert list(record.data) == stripped
