"""Plugs the Script tab into the main window, beside Call, Wrap-up and Knowledge.

The tab follows the controller's pops (the call's IVR intent picks the script, the
IVR's ID&V result decides whether the agent must verify) and lets a call go once
its wrap-up, which filed the script's answers, is saved. At start it reads back the
runs a previous desktop kept in the cache (killed mid-call: the adopted call shows its
answers again).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QApplication

from agentdesk.services.desk.session import PopContent
from agentdesk.services.scripts.calls import CallScripts
from agentdesk.services.scripts.engine import IdvCheck
from agentdesk.ui.scripts.panel import ScriptCall, ScriptPanel
from agentdesk.ui.shell_widgets import scrolling

TAB_TITLE = "&Script"


def script_call_of(pop: PopContent) -> ScriptCall:
    """The call as the Script tab needs it: intent and the IVR's identity check."""
    ivr = pop.call.ivr
    check = IdvCheck(ivr.idv_result or "not_attempted", ivr.idv_method or None)
    return ScriptCall(pop.linkedid, ivr.intent, check)


def install_scripts(window: Any, scripts: CallScripts) -> ScriptPanel:
    """Add the Script tab to ``window.call_tabs`` and wire it to calls.

    Added last: a tab inserted before another plug-in's would shift the index that
    plug-in keeps for its tab text.
    """
    panel = ScriptPanel(scripts)
    panel.setObjectName("scriptPanel")
    window.call_tabs.addTab(scrolling(panel, window), TAB_TITLE)

    def on_pop(pop: PopContent) -> None:
        panel.show_call(script_call_of(pop))

    window.controller.pop_shown.connect(on_pop)
    tabs = window.call_tabs
    script_tab = tabs.count() - 1

    def on_tab(index: int) -> None:
        # Only when the agent chose the tab (the focus is on the call tabs, not in text
        # they are typing elsewhere): a pop never takes the keys.
        focus = QApplication.focusWidget()
        if index == script_tab and (focus is None or focus is tabs or tabs.isAncestorOf(focus)):
            panel.focus_input()

    tabs.currentChanged.connect(on_tab)
    # Runs a desktop killed mid-call had kept in the cache come back beside their calls.
    scripts.restore(panel.runs_restored)
    # A call that rang out here never reaches a wrap-up: its run goes with its pop.
    window.controller.pop_dismissed.connect(lambda linkedid, _reason: panel.call_saved(linkedid))
    window.controller.wrapups.finished.connect(lambda linkedid, _next: panel.call_saved(linkedid))
    return panel
