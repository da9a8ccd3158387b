"""``agentdesk run``: the agent desktop against the configured ``agentdesk server``.

Calls reach the desktop through the server's CTI gateway (``docs/cti.md``): the
desktop needs no AMI login and no AMI secret. A lab without a server, or a
developer with ``--direct-pbx``, logs in to the PBX from the desktop instead,
with the secret stored by ``--store-ami-secret``.
"""

from __future__ import annotations

import argparse
import faulthandler
import getpass
import logging
import os
import signal
import sys
from typing import Any

from agentdesk import vault
from agentdesk.commands.common import settings_from
from agentdesk.config import ConfigError, Settings

log = logging.getLogger(__name__)
#: Test hook, read only with --auto-answer: "<disposition>:<notes>" is typed into the wrap-up
#: form's fields (key presses on the widgets) as soon as each auto-answered call connects, so
#: an end-to-end test can kill the process with notes in the draft. Never set on a site.
TEST_CALL_NOTES_ENV = "AGENTDESK_TEST_CALL_NOTES"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="open the agent desktop (configured server)",
        description="Open the agent desktop. Server URL and CA ([server]) and workstation come "
        "from the settings file and AGENTDESK_* variables. Calls come through the server; only "
        "without a server (or with --direct-pbx) does the desktop log in to the PBX ([pbx], "
        "secret in the OS keyring). The desktop never opens the central database.",
    )
    parser.add_argument("--agent", default="", help="agent id to pre-fill in the sign-in dialog")
    parser.add_argument(
        "--auto-sign-in",
        action="store_true",
        help="sign in without asking when the agent's password is remembered",
    )
    parser.add_argument(
        "--auto-answer",
        action="store_true",
        help="answer offered calls automatically (a per-agent setting; end-to-end tests may "
        f"also have notes typed for each answered call through ${TEST_CALL_NOTES_ENV})",
    )
    parser.add_argument(
        "--join-queues",
        action="store_true",
        help="join every PBX queue at sign-in when the agent is in none",
    )
    parser.add_argument(
        "--acw-limit",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="after-call-work limit; 0 = none (default: resources/reason_codes.toml)",
    )
    parser.add_argument(
        "--quit-after",
        type=float,
        default=None,
        metavar="SECONDS",
        help="close the desktop after this many seconds (kiosk tests)",
    )
    parser.add_argument(
        "--direct-pbx",
        action="store_true",
        help="log in to the PBX from this desktop even with a server configured (labs, "
        "development; needs the AMI secret in the keyring)",
    )
    parser.add_argument(
        "--store-ami-secret",
        action="store_true",
        help="read the AMI secret from standard input into the OS keyring, then exit",
    )
    parser.set_defaults(func=_run)


def direct_pbx(settings: Settings, args: argparse.Namespace) -> bool:
    """Whether this desktop logs in to the PBX itself: no server configured, or asked to."""
    return bool(getattr(args, "direct_pbx", False)) or not settings.server.url


def _seconds(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 86_400:
        raise argparse.ArgumentTypeError("must be between 0 and 86400")
    return value


def _store_ami_secret(key: str) -> int:
    secret = getpass.getpass("AMI secret: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
    if not secret:
        print("agentdesk run: no secret given", file=sys.stderr)
        return 2
    try:
        vault.set_secret(key, secret)
    except vault.KeyringUnavailable as exc:
        print(f"agentdesk run: {exc}", file=sys.stderr)
        return 2
    print(f"AMI secret stored in the OS keyring (service 'agentdesk', entry '{key}').")
    return 0


def install_quit_handlers(app: Any, window: Any, quit_after: float | None) -> None:
    """SIGTERM/SIGINT close the window (saving open wrap-ups) instead of killing the process."""
    from PySide6.QtCore import QTimer

    def close(signum: int = 0, *_args: object) -> None:
        log.info("signal %s: closing the desktop (open wrap-ups are saved first)", signum)
        window.close()

    # The window says when it has really closed (after saving open wrap-ups); quit then,
    # whatever other top-level windows (popups, tool windows) still exist.
    window.closed.connect(app.quit)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, close)
    # Support staff can ask a stuck desktop where it is: kill -USR1 <pid> dumps every thread.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    # Python runs signal handlers only between bytecodes; a heartbeat lets it in.
    heartbeat = QTimer(app)
    heartbeat.setInterval(250)
    heartbeat.timeout.connect(lambda: None)
    heartbeat.start()
    if quit_after is not None:
        QTimer.singleShot(int(quit_after * 1000), window.close)


def type_call_notes(desktop: Any, spec: str) -> None:
    """Test hook (auto-answer only): type ``<disposition>:<notes>`` into the wrap-up form as
    each call connects, through the form's own widgets, as an agent would during the call."""
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtTest import QTest

    from agentdesk.services.desk.screen_pop import CallChange, ChangeKind

    disposition, _, notes = spec.partition(":")
    form = desktop.window.wrapup
    typed: set[str] = set()

    def type_for(linkedid: str) -> None:
        ctx = form.context
        on_form = form.live_linkedid == linkedid or (
            ctx is not None and ctx.call.linkedid == linkedid
        )
        if linkedid in typed or not on_form:
            log.warning("test hook: the wrap-up form is not taking notes for call %s", linkedid)
            return
        typed.add(linkedid)
        form.set_disposition(disposition)
        for i, line in enumerate(notes.split("\n")):
            if i:
                QTest.keyClick(form.notes, Qt.Key.Key_Return)
            QTest.keyClicks(form.notes, line)
        log.info("test hook: typed notes for call %s (%d characters)", linkedid, len(notes))

    def on_change(change: CallChange) -> None:
        if change.kind is ChangeKind.CONNECTED and change.call.linkedid not in typed:
            linkedid = change.call.linkedid
            QTimer.singleShot(0, lambda: type_for(linkedid))

    desktop.controller.call_changed.connect(on_change)
    log.warning("test hook %s is set: notes are typed for every answered call", TEST_CALL_NOTES_ENV)


def release_application(qapp: Any, *windows: Any) -> None:
    """Destroy the windows and the QApplication now, in order, rather than leaving it to
    Python's finaliser (PySide6 can crash when it collects Qt objects at interpreter exit)."""
    for window in windows:
        window.deleteLater()
    qapp.processEvents()
    qapp.shutdown()


def _run(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
    except ConfigError as exc:
        print(f"agentdesk run: {exc}", file=sys.stderr)
        return 2
    if args.store_ami_secret:
        return _store_ami_secret(settings.pbx.secret_key)
    from PySide6.QtWidgets import QApplication, QDialog

    from agentdesk import app as composition
    from agentdesk.client.cti import UnavailableFeed
    from agentdesk.client.signin import DesktopSignIn
    from agentdesk.services.desk.agent_state import load_policy
    from agentdesk.store.engine import StoreError
    from agentdesk.ui.bridge import Bridge
    from agentdesk.ui.cache_reset_dialog import confirm_cache_reset
    from agentdesk.ui.desk_controller import DeskOptions
    from agentdesk.ui.login_dialog import LoginDialog
    from agentdesk.ui.tray import app_icon

    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    qapp.setApplicationName("agentdesk")
    QApplication.setWindowIcon(app_icon())
    keyring_ok, keyring_note = composition.prepare_keyring(allow_memory=True)
    try:
        stores = composition.open_stores(
            settings, persistent_cache=keyring_ok, on_unreadable=confirm_cache_reset
        )
    except StoreError as exc:
        print(f"agentdesk run: {exc}", file=sys.stderr)
        return 2
    api, server_note = composition.connect_server(settings)
    ami, ami_note = None, None
    if direct_pbx(settings, args):
        ami, ami_note = composition.ami_credentials(settings)
        log.info("calls: direct AMI login to %s:%s", settings.pbx.host, settings.pbx.port)
    else:
        log.info("calls: through the server's CTI gateway at %s", settings.server.url)
    notes = [n for n in (keyring_note, server_note, ami_note) if n]
    for note in notes:
        log.warning(note)
    bridge = Bridge()
    signin = DesktopSignIn(api, settings.workstation)
    dialog = LoginDialog(
        signin.authenticate,
        bridge,
        keyring_ok=keyring_ok,
        notes=notes,
        login=args.agent,
        auto_sign_in=args.auto_sign_in,
    )
    if dialog.exec() != QDialog.DialogCode.Accepted or dialog.identity is None:
        bridge.shutdown()
        stores.dispose()
        api.close()
        return 1
    identity = dialog.identity
    if not identity.interface:
        print(
            f"agentdesk run: agent {identity.login} has no phone interface configured",
            file=sys.stderr,
        )
        return 2
    desktop = composition.build_desktop(
        settings,
        stores,
        identity,
        bridge,
        ami,
        server=composition.server_connection(api, signin.grant),
        options=DeskOptions(
            auto_answer=args.auto_answer,
            join_queues=args.join_queues,
            region=settings.default_region,
        ),
        policy=load_policy(acw_limit_seconds=args.acw_limit),
        # Asked for a direct login without a secret: say so rather than use the server.
        feed=UnavailableFeed(ami_note) if ami_note and args.direct_pbx else None,
    )
    if signin.offline:
        notes.append(
            "Signed in offline (the server is unreachable): you work from this workstation's "
            "cache and your changes wait here until you sign in online again."
        )
    # The keyring's limits are a set-up matter: one line in the status bar, details on
    # click. What changes the agent's work now (offline, no server, no calls) stays a banner.
    for note in (keyring_note or "", dialog.remember_problem or ""):
        if note:
            desktop.window.status.add_setup_note(note)
    for note in notes:
        if note and note != keyring_note:
            desktop.window.banner.add(note)
    if args.auto_answer and (spec := os.environ.get(TEST_CALL_NOTES_ENV)):
        type_call_notes(desktop, spec)
    install_quit_handlers(qapp, desktop.window, args.quit_after)
    desktop.window.show()
    code = qapp.exec()
    desktop.shutdown()
    bridge.shutdown()
    stores.dispose()
    release_application(qapp, desktop.window)
    return int(code)
