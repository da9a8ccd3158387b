"""The script run of each call on this desk, and what the wrap-up files from it.

The Script tab drives runs through :class:`CallScripts`; the wrap-up asks
:meth:`CallScripts.outcome` when it saves (on the local worker — runs are
immutable and replaced whole, so the read needs no lock). The agent's own
ID&V belongs to the call, not to one script: switching scripts keeps it.

With a :class:`~agentdesk.services.scripts.runs.ScriptRunStore` every run is also kept
in the encrypted cache as it changes (written on the runner's local lane), and
:meth:`CallScripts.restore` reads back what a desktop killed mid-call had left.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from agentdesk.logsafe import describe_error
from agentdesk.services.desk.ports import Runner
from agentdesk.services.scripts.engine import IdvCheck, ScriptOutcome, ScriptRun
from agentdesk.services.scripts.model import ScriptCatalogue
from agentdesk.services.scripts.runs import SavedRun, ScriptRunStore, encode

log = logging.getLogger(__name__)
MAX_CALLS = 20  # runs kept at once (several calls, wrap-ups not saved yet); oldest go first


class CallScripts:
    """Runs by Linkedid: start by the call's IVR intent, switch, move, read the outcome."""

    def __init__(
        self,
        catalogue: ScriptCatalogue,
        store: ScriptRunStore | None = None,
        runner: Runner | None = None,
    ) -> None:
        self.catalogue = catalogue
        self._runs: dict[str, ScriptRun] = {}
        self._store = store if runner is not None else None
        self._runner = runner

    def run(self, linkedid: str) -> ScriptRun | None:
        return self._runs.get(linkedid)

    def start(self, linkedid: str, intent: str | None, ivr_idv: IdvCheck) -> ScriptRun | None:
        """The call's run (started now with the intent's script if it had none)."""
        run = self._runs.get(linkedid)
        if run is not None:
            if run.ivr_idv != ivr_idv:  # the IVR's result came later than the offer
                run = self.put(linkedid, replace(run, ivr_idv=ivr_idv))
            return run
        script = self.catalogue.for_intent(intent)
        if script is None:
            return None
        return self.put(linkedid, ScriptRun.begin(script, ivr_idv))

    def switch(self, linkedid: str, script_id: str, ivr_idv: IdvCheck) -> ScriptRun:
        """The agent picked another script: it starts at its first step; ID&V is kept."""
        script = self.catalogue.by_id(script_id)
        if script is None:
            raise KeyError(script_id)
        previous = self._runs.get(linkedid)
        if previous is not None and previous.script.id == script_id:
            return previous
        agent_idv = previous.agent_idv if previous is not None else None
        return self.put(linkedid, ScriptRun.begin(script, ivr_idv, agent_idv))

    def put(self, linkedid: str, run: ScriptRun) -> ScriptRun:
        """Keep ``run`` as the call's current state (after a move)."""
        if linkedid not in self._runs and len(self._runs) >= MAX_CALLS:
            self._runs.pop(next(iter(self._runs)))
        previous = self._runs.get(linkedid)
        self._runs[linkedid] = run
        if run != previous:
            self._submit("put", linkedid, encode(run))
        return run

    def agent_idv(self, linkedid: str) -> IdvCheck | None:
        """The agent's own ID&V recorded on the call's script (orders use it, too)."""
        run = self._runs.get(linkedid)
        return run.agent_idv if run is not None else None

    def outcome(self, linkedid: str) -> ScriptOutcome | None:
        """What the wrap-up of ``linkedid`` files (None: no script was run on it)."""
        run = self._runs.get(linkedid)
        return run.outcome() if run is not None else None

    def drop(self, linkedid: str) -> None:
        """The wrap-up is saved: the run is on the interaction now."""
        if self._runs.pop(linkedid, None) is not None:
            self._submit("delete", linkedid)

    # ------------------------------------------------------------------ restart
    def restore(self, restored: Callable[[list[str]], None]) -> None:
        """Read back the runs a previous desktop left; ``restored`` gets the calls whose
        run came back (on the runner's callback thread)."""
        if self._store is None or self._runner is None:
            return
        self._runner.submit(
            self._store.load,
            self.catalogue,
            lane="local",
            on_done=lambda saved: self._on_loaded(saved, restored),
            on_error=lambda exc: log.warning("script runs not read back: %s", describe_error(exc)),
        )

    def _on_loaded(self, saved: list[SavedRun], restored: Callable[[list[str]], None]) -> None:
        taken = []
        for item in saved:
            current = self._runs.get(item.linkedid)
            # A call already shown since the start has at most a fresh run: the kept one wins.
            if current is None or _untouched(current):
                self._runs[item.linkedid] = item.run
                taken.append(item.linkedid)
                log.info("script run of call %s read back from the cache", item.linkedid)
        if taken:
            restored(taken)

    def _submit(self, what: str, linkedid: str, data: object = None) -> None:
        store, runner = self._store, self._runner
        if store is None or runner is None:
            return
        args = (linkedid, data) if what == "put" else (linkedid,)
        runner.submit(
            store.put if what == "put" else store.delete,
            *args,
            lane="local",
            on_error=lambda exc: log.warning(
                "script run of call %s not kept: %s", linkedid, describe_error(exc)
            ),
        )


def _untouched(run: ScriptRun) -> bool:
    return not run.history and not run.answers and run.agent_idv is None
