"""Script runs kept in the desktop's encrypted cache, so a crash loses no typed answer.

Every move in the Script tab writes the call's run (``desk_script_run``, cache only) on
the local worker lane; the row goes when the call's wrap-up has filed the answers or
the call rang out. On the next start the runs are read back and put beside their
calls: the call adopted after the restart shows the step, the path and the answers
the agent had, and a call that ended meanwhile files them with its restored wrap-up.

A run is stored by script id and version with the steps by id; a run whose script
changed since (another version, a step gone) is dropped with a warning rather than
shown against steps it was not answered on.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, select

from agentdesk.models import DeskScriptRun, utcnow
from agentdesk.services.scripts.engine import Answer, IdvCheck, ScriptRun
from agentdesk.services.scripts.model import ScriptCatalogue
from agentdesk.store.engine import read_session, write_session

log = logging.getLogger(__name__)
MAX_KEPT = 50  # runs read back at start (several calls at once at most)
MAX_AGE = dt.timedelta(hours=12)  # an older run belongs to a call long over


@dataclass(frozen=True)
class SavedRun:
    """One call's run as the cache keeps it."""

    linkedid: str
    run: ScriptRun


class ScriptRunStore:
    """Reads and writes ``desk_script_run`` rows (run it on the local worker lane)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def put(self, linkedid: str, data: dict[str, Any]) -> None:
        """Keep ``data`` (from :func:`encode`) as the call's run."""
        with write_session(self._engine) as s:
            row = s.get(DeskScriptRun, linkedid)
            if row is None:
                s.add(DeskScriptRun(linkedid=linkedid, data=data, updated_at=utcnow()))
            else:
                row.data, row.updated_at = data, utcnow()

    def delete(self, linkedid: str) -> None:
        with write_session(self._engine) as s:
            s.execute(delete(DeskScriptRun).where(DeskScriptRun.linkedid == linkedid))

    def load(self, catalogue: ScriptCatalogue) -> list[SavedRun]:
        """The runs a previous desktop left, oldest first; stale or unreadable ones go."""
        cutoff = utcnow() - MAX_AGE
        with write_session(self._engine) as s:
            s.execute(delete(DeskScriptRun).where(DeskScriptRun.updated_at < cutoff))
        with read_session(self._engine) as s:
            rows = s.execute(
                select(DeskScriptRun.linkedid, DeskScriptRun.data)
                .order_by(DeskScriptRun.updated_at)
                .limit(MAX_KEPT)
            ).all()
        saved = []
        for linkedid, data in rows:
            try:
                saved.append(SavedRun(linkedid, decode(data, catalogue)))
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("script run of call %s not read back (%s)", linkedid, exc)
                self.delete(linkedid)
        return saved


def encode(run: ScriptRun) -> dict[str, Any]:
    """The run as JSON: the script by id and version, steps by id, answers as typed."""
    return {
        "script": run.script.id,
        "version": run.script.version,
        "ivr_idv": _check(run.ivr_idv),
        "agent_idv": None if run.agent_idv is None else _check(run.agent_idv),
        "current": run.current,
        "history": list(run.history),
        "answers": [
            {"step": a.step, "question": a.question, "value": a.value, "shown": a.shown}
            for _step, a in run.answers
        ],
    }


def decode(data: dict[str, Any], catalogue: ScriptCatalogue) -> ScriptRun:
    """The run back; ``ValueError`` when its script is not the one it was run on."""
    script = catalogue.by_id(str(data["script"]))
    if script is None:
        raise ValueError(f"script {data['script']!r} is no longer installed")
    if script.version != int(data["version"]):
        raise ValueError(f"script {script.id} is at version {script.version} now")
    steps = {s.id for s in script.steps}
    history = tuple(str(s) for s in data["history"])
    current = str(data["current"])
    answers = tuple(
        (
            str(a["step"]),
            Answer(str(a["step"]), str(a["question"]), str(a["value"]), str(a["shown"])),
        )
        for a in data["answers"]
    )
    if not {current, *history, *(s for s, _a in answers)} <= steps:
        raise ValueError(f"script {script.id} no longer has the steps of this run")
    agent = data.get("agent_idv")
    return ScriptRun(
        script,
        _idv(data["ivr_idv"]),
        None if agent is None else _idv(agent),
        current,
        history,
        answers,
    )


def _check(check: IdvCheck) -> dict[str, Any]:
    return {"result": check.result, "method": check.method}


def _idv(data: dict[str, Any]) -> IdvCheck:
    method = data.get("method")
    return IdvCheck(str(data["result"]), None if method is None else str(method))
