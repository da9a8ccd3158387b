"""Asterisk ``queue_log`` writer: ``epoch|callid|queue|agent|event|data1|data2|...``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

log = logging.getLogger(__name__)


class QueueLog:
    """Appends queue_log lines in Asterisk's exact format to a file and/or listeners.

    Field meanings follow app_queue.c, e.g. ENTERQUEUE ``url|callerid|position``,
    CONNECT ``holdtime|bridged-uniqueid|ringtime``, COMPLETECALLER/COMPLETEAGENT
    ``holdtime|calltime|origposition``, ABANDON ``position|origposition|waittime``,
    RINGNOANSWER ``ringtime-ms``, TRANSFER ``exten|context|holdtime|calltime|origposition``,
    PAUSE/UNPAUSE ``reason``.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self._file: TextIO | None = None
        if path is not None:
            self._file = Path(path).open("a", encoding="utf-8", newline="\n")  # noqa: SIM115
        self._listeners: list[Callable[[str], None]] = []
        self._lock = threading.Lock()
        self.lines_written = 0

    def add_listener(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    def write(
        self, epoch: float, callid: str, queue: str, agent: str, event: str, *data: object
    ) -> str:
        fields = [str(int(epoch)), callid, queue, agent, event, *(_clean(d) for d in data)]
        line = "|".join(fields)
        with self._lock:
            if self._file is not None:
                self._file.write(line + "\n")
            self.lines_written += 1
        for listener in self._listeners:
            listener(line)
        return line

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _clean(value: object) -> str:
    # A '|' or newline inside a field would shift every later column for report readers.
    return str(value).replace("|", "/").replace("\n", " ").replace("\r", " ")
