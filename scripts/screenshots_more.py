"""README screenshots that need more than keys: the real ``agentdesk demo``, driven in-process.

``scripts/screenshots`` runs this once per scene on its private Xvfb display. It builds the
demo exactly as ``agentdesk demo`` does (the same argument parser and ``DemoRuntime``:
server, PBX simulator, core-banking simulator, desktop signed in through the server), then
walks the scene's steps: each step waits for a condition on the real widgets (polled every
100 ms, at most ``STEP_TIMEOUT`` seconds), then acts the way a person would (a button's
click, a tab, a shortcut's action) or takes the screen with ImageMagick's ``import``.

    DISPLAY=:75 .venv/bin/python scripts/screenshots_more.py SCENE OUT_DIR DATA_DIR

Scenes:
  knowledge   dave (an editor) answers a known caller; the Knowledge pane with the
              suggestions for the call, the first one open           -> knowledge-panel.png
  corebank    alice answers a known caller; the Products tab with live balances, then
              the core-banking simulator fails every request (PUT /sim/faults) and the
              tab is reloaded                           -> corebank-live.png, corebank-stale.png
  duplicates  the demo's seed has no duplicates, so first three of its people are entered
              again as a careless import would (same name and date of birth; one with the
              same mobile, one with a mistyped first name and the same mobile, one with a
              new mobile and the same e-mail). Then carol (a supervisor) runs "Look for
              duplicates"; dave asks through the server to merge the mistyped one into the
              older record; carol opens the record that goes, reviews the request and
              approves it
                                             -> duplicates-review.png, merged-record.png
  scripts     alice answers a known caller whose IVR ID&V was not passed (the demo's first
              scripted caller: partly verified); the Script tab in front, the lost-card
              script picked (its identity step is mandatory), Next to the ID&V step and
              Next again: held there until the agent verifies     -> script-idv-blocked.png
  orders      alice answers a known caller whose workspace suggests a product (the
              cross-sell strip; a 350-customer store, whose first caller has a current
              account and no credit card); then Order…: the catalogue with the caller's eligibility,
              the suggested product picked, how the agent verified the caller and a note
              for the back office            -> orders-workspace.png, orders-dialog.png
  wall        carol (a supervisor) with the demo's traffic; Ctrl+Shift+W's wallboard
              switched to the wall-screen mode (F11) once calls were answered; meant for
              a 1920x1080 screen                                 -> wallboard-wall-1920.png
  report      carol with the demo's traffic; Ctrl+Shift+R's report window, today's report
              from the server's queue records built once calls were answered; meant for a
              1366x768 screen                                    -> report-1366.png
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDockWidget, QTabWidget, QWidget

from agentdesk.cli import build_parser
from agentdesk.commands.common import settings_from
from agentdesk.commands.demo import DemoRuntime, demo_settings
from agentdesk.ui.knowledge.panel import KnowledgePanel
from agentdesk.ui.orders.dialog import OrderDialog
from agentdesk.ui.scripts.panel import ScriptPanel
from agentdesk.ui.supervisor.duplicates import DuplicatesWindow
from agentdesk.ui.supervisor.report_view import ReportWindow
from agentdesk.ui.supervisor.wallboard import WallboardWindow

STEP_TIMEOUT = 120.0  # seconds one step may wait for its condition
SETTLE = 1.0  # seconds between a condition met and the picture (the last repaint)
DEMO = ("--customers", "300", "--time-scale", "4")

log = logging.getLogger("screenshots")

Step = tuple[str, Callable[[], bool], Callable[[], None]]


class Scene:
    """Runs steps in order on the GUI thread: wait for ``condition``, then ``action``."""

    def __init__(self, runtime: DemoRuntime, out: Path) -> None:
        self.runtime, self.out = runtime, out
        self.window = runtime.desktop.window
        self.steps: list[Step] = []
        self.failed: str | None = None
        self._deadline = 0.0
        self._timer = QTimer()
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._tick)

    def wait(self, what: str, condition: Callable[[], bool], action: Callable[[], None]) -> None:
        self.steps.append((what, condition, action))

    def settle(self) -> None:
        """A step that only lets the window repaint for SETTLE seconds."""
        until = [0.0]

        def armed() -> bool:
            if not until[0]:
                until[0] = time.monotonic() + SETTLE
            return time.monotonic() >= until[0]

        self.wait("repaint", armed, lambda: None)

    def shoot(self, name: str) -> None:
        self.settle()
        self.wait(f"picture {name}", lambda: True, lambda: self._import(name))

    def _import(self, name: str) -> None:
        path = self.out / f"{name}.png"
        subprocess.run(["import", "-window", "root", str(path)], check=True, timeout=30)
        print(f"saved {path}", flush=True)

    def start(self) -> None:
        self._deadline = time.monotonic() + STEP_TIMEOUT
        self._timer.start()

    def _tick(self) -> None:
        if not self.steps:
            self._timer.stop()
            self.window.close()
            return
        what, condition, action = self.steps[0]
        try:
            met = condition()
        except Exception as exc:  # a widget not there yet reads as "not yet"
            log.debug("waiting for %s: %s", what, exc)
            met = False
        if not met:
            if time.monotonic() > self._deadline:
                self.fail(f"gave up waiting for: {what} ({STEP_TIMEOUT:.0f} s)")
            return
        self.steps.pop(0)
        print(f"step: {what}", flush=True)
        try:
            action()
        except Exception as exc:
            self.fail(f"{what}: {exc!r}")
            return
        self._deadline = time.monotonic() + STEP_TIMEOUT

    def fail(self, why: str) -> None:
        self.failed = why
        self.steps.clear()
        self._timer.stop()
        self.window.close()


# --- helpers on the real widgets ----------------------------------------------------------------


def top_level(name: str) -> QWidget | None:
    return next((w for w in QApplication.topLevelWidgets() if w.objectName() == name), None)


def customer_tab(window: Any) -> Any:
    """The customer workspace in front (its detail tabs hold Products)."""
    widget = window.workspace_tabs.currentWidget()
    return widget if widget is not None and hasattr(widget, "detail_tabs") else None


def show_tab(tabs: QTabWidget, text: str) -> None:
    for index in range(tabs.count()):
        if tabs.tabText(index).replace("&", "") == text:
            tabs.setCurrentIndex(index)
            return
    raise LookupError(f"no tab {text!r}")


def missed(window: Any) -> bool:
    from agentdesk.services.desk.agent_state import AgentState

    return bool(window.controller.state.state == AgentState.MISSED)


def synced(runtime: DemoRuntime) -> bool:
    sync = runtime.desktop.sync
    return sync is None or sync.status().phase not in ("starting", "filling")


# --- scenes -----------------------------------------------------------------------------------


def knowledge(scene: Scene) -> None:
    window = scene.window
    dock = window.findChild(QDockWidget, "knowledgeDock")
    panel = dock.widget() if dock is not None else None
    if dock is None or not isinstance(panel, KnowledgePanel):
        raise RuntimeError("the desktop has no Knowledge pane")

    def suggested() -> bool:  # the call's suggestions are listed (the tab counts them)
        return panel.topic is not None and panel.hits.rowCount() > 0

    def raise_pane() -> None:  # what clicking the pane's tab does
        dock.show()
        dock.raise_()
        panel.list.setCurrentIndex(panel.hits.index(0, 0))
        panel.list.activated.emit(panel.hits.index(0, 0))  # the agent opens the first one

    scene.wait("a connected call with suggestions", lambda: on_call(window) and suggested(),
               raise_pane)  # fmt: skip
    scene.wait("the article open", lambda: panel.reader.article is not None, lambda: None)
    scene.shoot("knowledge-panel")


def on_call(window: Any) -> bool:
    call = window.controller.current_call()
    return call is not None and str(getattr(call.phase, "value", call.phase)) == "connected"


def corebank(scene: Scene) -> None:
    window, runtime = scene.window, scene.runtime
    ws: list[Any] = []

    def opened() -> bool:
        tab = customer_tab(window)
        if tab is not None and tab.card is not None:
            ws[:] = [tab]
        return bool(ws)

    def live_note(text: str) -> Callable[[], bool]:
        return lambda: text in ws[0].live.note.text() and ws[0].live.transactions.rowCount() > 0

    def core_down() -> None:  # the core system fails every request from now on
        answer = httpx.put(f"{runtime.core_url}/sim/faults", json={"fail_rate": 1.0}, timeout=5)
        answer.raise_for_status()
        ws[0].refresh()  # the tab reads the customer again, as reopening it would

    scene.wait("the caller's workspace", opened, lambda: show_tab(ws[0].detail_tabs, "Products"))
    scene.wait("live balances", live_note("live from the core system"), lambda: None)
    scene.shoot("corebank-live")
    scene.wait("core system down", lambda: True, core_down)
    scene.wait("the stale note", live_note("core system unavailable"), lambda: None)
    scene.shoot("corebank-stale")


def duplicates(scene: Scene) -> None:
    from agentdesk.client.api import ServerApi
    from agentdesk.client.duplicates import ServerDuplicates
    from agentdesk.client.signin import DesktopSignIn
    from agentdesk.services.seeding.reference import DEMO_PASSWORD

    window, runtime = scene.window, scene.runtime
    review: list[Any] = []
    pair: list[Any] = []

    def open_review() -> None:  # Ctrl+Shift+D's action
        window.actions_by_id["duplicates"].trigger()

    def opened() -> bool:
        found = top_level("duplicates_window")
        if (
            isinstance(found, DuplicatesWindow)
            and found.isVisible()
            and ("Loading" not in found.summary.text())
        ):
            review[:] = [found]
        return bool(review)

    def scanned() -> bool:
        w = review[0]
        return (
            "Compared" in w.message.text() and w.model.rowCount() > 0 and w.scan_button.isEnabled()
        )

    def dave_asks() -> None:  # a second supervisor's desktop, through the same server
        api = ServerApi(runtime.server_url)
        DesktopSignIn(api, "screenshots-dave").authenticate("dave", DEMO_PASSWORD)
        rows = [review[0].model.row_at(n) for n in range(review[0].model.rowCount())]
        # The pair whose names differ reads best ("Aara" typed for "Aarav"); the record on
        # file longest stays, as a supervisor would choose.
        top = next((r for r in rows if r.left.display_name != r.right.display_name), rows[0])
        keep, goes = sorted((top.left, top.right), key=lambda side: side.created_at)
        try:
            ServerDuplicates(api).request_merge(
                keep.id, goes.id, "Same customer; first name mistyped when the account was opened"
            )
        finally:
            api.close()
        pair[:] = [top]
        window.open_customer(goes.id)  # carol has the record that goes open in a tab
        review[0].reload()

    def pending_listed() -> bool:
        w = review[0]
        rows = [w.model.row_at(n) for n in range(w.model.rowCount())]
        return any(r.id == pair[0].id and r.pending is not None for r in rows)

    def select_pending() -> None:
        w = review[0]
        for n in range(w.model.rowCount()):
            if w.model.row_at(n).id == pair[0].id:
                w.table.selectRow(n)
        review[0].raise_()
        review[0].activateWindow()

    def approve() -> None:
        review[0].approve_button.click()

    def merged_tab() -> bool:
        tab = customer_tab(window)
        return tab is not None and tab.banner.isVisible() and "merged into" in tab.banner.text()

    def main_window_in_front() -> None:
        review[0].close()
        window.raise_()
        window.activateWindow()

    # The demo rings carol's phone once she is Available; the call rings out and the PBX
    # pauses her ("Missed call"), so no call pops over the pictures that follow.
    scene.wait(
        "the first demo call missed", lambda: synced(runtime) and missed(window), open_review
    )
    scene.wait("the review list", opened, lambda: review[0].scan_button.click())
    scene.wait("the scan's pairs", scanned, dave_asks)
    scene.wait("dave's request on the list", pending_listed, select_pending)
    scene.wait("the request selected", lambda: review[0].approve_button.isEnabled(), lambda: None)
    scene.shoot("duplicates-review")
    scene.wait("approve", lambda: True, approve)
    scene.wait("the merge done", lambda: "erged" in review[0].message.text(),
               main_window_in_front)  # fmt: skip
    scene.wait("the open tab turned into a pointer", merged_tab, lambda: None)
    scene.shoot("merged-record")


def scripts(scene: Scene) -> None:
    from agentdesk.services.scripts.model import StepKind

    window = scene.window
    panel = window.findChild(ScriptPanel, "scriptPanel")
    if panel is None:
        raise RuntimeError("the desktop has no Script tab")

    def unverified_call() -> bool:  # the caller on the line, the IVR's check not passed
        run = panel.run
        return on_call(window) and run is not None and not run.ivr_idv.passed

    def mandatory_idv() -> bool:
        run = panel.run
        return run is not None and any(
            step.kind is StepKind.IDV and step.mandatory for step in run.script.steps
        )

    def script_tab() -> None:  # what clicking the tab (Alt+S) does
        tabs = window.call_tabs
        show_tab(tabs, "Script")
        if not mandatory_idv():  # the agent picks the lost-card script (Alt+T)
            index = panel.picker.findData("card_lost")
            if index < 0:
                raise LookupError("no lost-card script in resources/scripts")
            panel.picker.setCurrentIndex(index)
            panel.picker.activated.emit(index)

    def at_idv() -> bool:
        run = panel.run
        return run is not None and run.step.kind is StepKind.IDV

    scene.wait("a connected caller the IVR did not verify", unverified_call, script_tab)
    scene.wait("a script with a mandatory ID&V step", mandatory_idv, panel.next.click)
    scene.wait("the ID&V step", at_idv, panel.next.click)  # Next, before verifying
    scene.wait("held at the ID&V step", lambda: "not verified" in panel.message.text(),
               lambda: None)  # fmt: skip
    scene.shoot("script-idv-blocked")


def orders(scene: Scene) -> None:
    window = scene.window
    ws: list[Any] = []
    dialog: list[OrderDialog] = []

    def suggested() -> bool:  # the caller's workspace, its strip showing a suggestion
        tab = customer_tab(window)
        if tab is None or tab.card is None or tab.cross_sell is None:
            return False
        ws[:] = [tab]
        return on_call(window) and tab.cross_sell.suggestion is not None

    def order() -> None:  # the agent clicks Order…
        ws[0].order_button.click()

    def opened() -> bool:
        found = ws[0].findChild(OrderDialog)
        if found is not None and found.isVisible() and found.offers.rowCount() > 0:
            dialog[:] = [found]
        return bool(dialog)

    def fill_in() -> None:  # the suggested product, how the agent verified, a note
        d, code = dialog[0], ws[0].cross_sell.suggestion.product_code
        rows = [d.offers.row_at(n) for n in range(d.offers.rowCount())]
        d.offers_view.selectRow(next(n for n, v in enumerate(rows) if v and v.product.code == code))
        if d.method.isVisible() and d.method.isEnabled():  # on the phone: a passcode
            d.method.setCurrentIndex(max(d.method.findData("one_time_passcode"), 0))
        d.note.setText("Welcome pack by post")

    scene.wait("a connected caller with a suggestion", suggested, lambda: None)
    scene.wait("the strip shown", lambda: ws[0].cross_sell.isVisible(), lambda: None)
    scene.shoot("orders-workspace")
    scene.wait("Order…", lambda: True, order)
    scene.wait("the order dialog with the catalogue", opened, fill_in)
    scene.wait("the product picked", lambda: dialog[0].selected() is not None, lambda: None)
    scene.shoot("orders-dialog")


def answered_calls(window: QWidget) -> int:
    """Calls answered today on the floor the wallboard shows (0 before its first picture)."""
    snapshot = getattr(window, "last_snapshot", None)
    return sum(q.answered for q in snapshot.queues) if snapshot is not None else 0


def wall(scene: Scene) -> None:
    window = scene.window
    board: list[WallboardWindow] = []
    started = time.monotonic()

    def opened() -> bool:
        found = next(
            (w for w in QApplication.topLevelWidgets() if isinstance(w, WallboardWindow)), None
        )
        if found is not None and found.isVisible():
            board[:] = [found]
        return bool(board)

    def busy_floor() -> bool:  # a minute of the demo's traffic: calls waiting and answered
        return time.monotonic() - started > 60 and answered_calls(board[0]) > 0

    scene.wait("signed in", lambda: synced(scene.runtime),
               lambda: window.actions_by_id["wallboard"].trigger())  # fmt: skip
    scene.wait("the wallboard", opened, lambda: None)
    scene.wait("calls answered on the floor", busy_floor, lambda: board[0].wall.toggle())
    scene.wait("wall-screen mode", lambda: board[0].isFullScreen(), lambda: None)
    scene.shoot("wallboard-wall-1920")


def report(scene: Scene) -> None:
    window = scene.window
    reports: list[ReportWindow] = []
    built: list[object] = []
    failed: list[str] = []
    started = time.monotonic()

    def opened() -> bool:
        found = next(
            (w for w in QApplication.topLevelWidgets() if isinstance(w, ReportWindow)), None
        )
        if found is not None and found.isVisible():
            reports[:] = [found]
        return bool(reports)

    def build() -> None:  # the supervisor clicks Build report
        reports[0].report_ready.connect(built.append)
        reports[0].failed.connect(failed.append)
        reports[0].build.click()

    def answered() -> None:
        if failed:
            raise RuntimeError(failed[0])

    scene.wait("a minute of the demo's calls", lambda: synced(scene.runtime)
               and time.monotonic() - started > 60,
               lambda: window.actions_by_id["reports"].trigger())  # fmt: skip
    scene.wait("the report window", opened, build)
    scene.wait("today's report built", lambda: bool(built or failed), answered)
    scene.shoot("report-1366")


def plant_duplicates(settings: Any, args: Any) -> None:
    """Enter three seeded people a second time, straight into the demo's store (seeded first
    if empty), before the demo starts: the desktop's first fill then holds them too."""
    from sqlalchemy import select

    from agentdesk.ids import uuid7
    from agentdesk.models import Customer, CustomerEmail, CustomerPhone, utcnow
    from agentdesk.store.engine import read_session, write_session
    from agentdesk.store.field_crypto import FieldKeyring, field_context

    opener = DemoRuntime(settings, args)
    try:
        central, key_text = opener._open_central(settings)
        keyring = FieldKeyring.parse(key_text, "demo field key")
        dob = "date_of_birth"
        with read_session(central) as s:
            people = list(
                s.scalars(
                    select(Customer)
                    .where(Customer.kind == "person", Customer.date_of_birth_enc.is_not(None))
                    .order_by(Customer.display_name)
                    .limit(3)
                )
            )
        if len(people) < 3:
            raise RuntimeError("the demo store has fewer than three people to copy")
        with write_session(central) as s:
            for n, original in enumerate(people):
                assert original.date_of_birth_enc is not None  # chosen for having one
                born = keyring.decrypt(
                    original.date_of_birth_enc, field_context("customer", dob, original.id)
                )
                phone = s.scalar(
                    select(CustomerPhone.e164).where(CustomerPhone.customer_id == original.id)
                )
                email = s.scalar(
                    select(CustomerEmail.address).where(CustomerEmail.customer_id == original.id)
                )
                new = uuid7()
                secret = keyring.encrypt(born, field_context("customer", dob, new))
                given = original.given_name or ""
                if n == 1 and len(given) > 4:
                    given = given[:-1]  # the last letter lost when typed in
                mobile = phone if n < 2 or phone is None else f"+4477009{n:05d}"
                address = (email if n == 2 and email else f"{new.hex[:10]}@example.org").lower()
                s.add(
                    Customer(
                        id=new, kind=original.kind, given_name=given,
                        family_name=original.family_name,
                        display_name=f"{given} {original.family_name}",
                        birth_year=original.birth_year, segment=original.segment,
                        date_of_birth_enc=secret,
                    )
                )  # fmt: skip
                if mobile is not None:
                    s.add(
                        CustomerPhone(id=uuid7(), customer_id=new, label="mobile",
                                      number_raw=mobile, e164=mobile, is_primary=True)
                    )  # fmt: skip
                s.add(
                    CustomerEmail(id=uuid7(), customer_id=new, label="personal", address=address,
                                  address_norm=address, is_primary=True, created_at=utcnow())
                )  # fmt: skip
        print(f"planted {len(people)} duplicates", flush=True)
    finally:
        opener.stop()


SCENES: dict[str, tuple[tuple[str, ...], Callable[[Scene], None]]] = {
    "knowledge": (("--agent", "dave", "--scenario", "known", "--auto-answer"), knowledge),
    "corebank": (("--scenario", "known", "--auto-answer"), corebank),
    "duplicates": (("--agent", "carol", "--no-traffic"), duplicates),
    "scripts": (("--scenario", "known", "--auto-answer"), scripts),
    # 350 customers (the later --customers wins): with 300 the first known caller is a
    # business no rule suggests anything to; with 350 it is a retail customer with a
    # current account and no credit card.
    "orders": (("--scenario", "known", "--auto-answer", "--customers", "350"), orders),
    "wall": (("--agent", "carol"), wall),
    "report": (("--agent", "carol"), report),
}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in SCENES:
        print(__doc__, file=sys.stderr)
        return 2
    name, out, data_dir = argv[0], Path(argv[1]), Path(argv[2])
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    extra, build = SCENES[name]
    args = build_parser().parse_args(["demo", "--data-dir", str(data_dir), *DEMO, *extra])
    settings = demo_settings(settings_from(args), args.data_dir)
    if name == "duplicates":
        plant_duplicates(settings, args)
    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    qapp.setApplicationName("agentdesk demo")
    runtime = DemoRuntime(settings, args)
    try:
        runtime.start()
    except RuntimeError as exc:
        print(f"screenshots: {exc}", file=sys.stderr)
        runtime.stop()
        return 2
    runtime.desktop.window.closed.connect(qapp.quit)
    scene = Scene(runtime, out)
    build(scene)
    scene.start()
    qapp.exec()
    runtime.stop()
    from agentdesk.commands.run import release_application

    release_application(qapp, runtime.desktop.window)
    if scene.failed:
        print(f"screenshots {name}: {scene.failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
