"""Sign-in: agent id and password checked against the central store (off the GUI thread).

"Remember me" keeps the password in the OS keyring only. When the machine
has no keyring the box is disabled and says why; known start-up problems
(no keyring, central store or PBX unreachable) are listed above the form so
the agent knows which features will be degraded before signing in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from agentdesk import vault
from agentdesk.services.platform import auth
from agentdesk.services.platform.auth import AgentIdentity, AuthError
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.forms import error_label, ok_cancel

Authenticate = Callable[[str, str], AgentIdentity]


class LoginDialog(QDialog):
    """Collects credentials and signs in; ``identity`` is set when accepted."""

    signed_in = Signal(object)  # AgentIdentity

    def __init__(
        self,
        authenticate: Authenticate,
        bridge: Bridge,
        *,
        keyring_ok: bool,
        notes: Sequence[str] = (),
        login: str = "",
        auto_sign_in: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("agentdesk — sign in")
        self._authenticate, self._bridge, self._keyring_ok = authenticate, bridge, keyring_ok
        self.identity: AgentIdentity | None = None
        self.remember_problem: str | None = None
        layout = QVBoxLayout(self)
        self.notes = QLabel("\n".join(f"• {n}" for n in notes), self)
        self.notes.setObjectName("loginNotes")
        self.notes.setWordWrap(True)
        self.notes.setVisible(bool(notes))
        layout.addWidget(self.notes)
        form = QFormLayout()
        self.login = QLineEdit(login, self)
        self.login.setObjectName("loginId")
        self.password = QLineEdit(self)
        self.password.setObjectName("loginPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember = QCheckBox("&Remember me on this computer", self)
        self.remember.setEnabled(keyring_ok)
        self.remember.setToolTip(
            "Keeps your password in the OS keyring, never in a file."
            if keyring_ok
            else "Unavailable: this computer has no OS keyring. " + vault.HOW_TO_FIX
        )
        form.addRow("&Agent id", self.login)
        form.addRow("&Password", self.password)
        form.addRow("", self.remember)
        layout.addLayout(form)
        self.error = error_label(self, "loginError")
        layout.addWidget(self.error)
        self.buttons = ok_cancel(self, self.submit, ok_text="&Sign in")
        layout.addWidget(self.buttons)
        self.login.editingFinished.connect(self._prefill_remembered)
        self.setMinimumWidth(440)
        if login:
            self._prefill_remembered()
            self.password.setFocus(Qt.FocusReason.OtherFocusReason)
        if auto_sign_in and login and self.password.text():
            QTimer.singleShot(0, self, self.submit)

    def _prefill_remembered(self) -> None:
        if self._keyring_ok and not self.password.text():
            remembered = auth.remembered_password(self.login.text().strip())
            if remembered:
                self.password.setText(remembered)
                self.remember.setChecked(True)

    def submit(self) -> None:
        login, password = self.login.text().strip(), self.password.text()
        remember = self.remember.isChecked() and self._keyring_ok
        self._busy(True)
        self.error.setText("Checking…")
        self._bridge.submit(
            self._check,
            login,
            password,
            remember,
            lane="central",
            on_done=self._on_checked,
            on_error=self._on_failed,
        )

    def _check(self, login: str, password: str, remember: bool) -> tuple[AgentIdentity, str | None]:
        identity = self._authenticate(login, password)
        problem = None
        try:
            if remember:
                auth.remember_password(identity.login, password)
            elif self._keyring_ok:
                auth.forget_password(identity.login)
        except vault.KeyringUnavailable as exc:
            problem = str(exc)
        return identity, problem

    def _on_checked(self, result: tuple[AgentIdentity, str | None]) -> None:
        self.identity, self.remember_problem = result
        self._busy(False)
        if self.identity.source == "local":
            self.remember_problem = (self.remember_problem or "") + (
                " Signed in from this workstation's cache: the central database is unreachable."
            )
        self.signed_in.emit(self.identity)
        self.accept()

    def _on_failed(self, exc: BaseException) -> None:
        self._busy(False)
        if isinstance(exc, AuthError):
            self.error.setText(str(exc))
        else:
            self.error.setText(f"Sign-in failed unexpectedly: {type(exc).__name__}: {exc}")
        self.password.selectAll()
        self.password.setFocus(Qt.FocusReason.OtherFocusReason)

    def _busy(self, busy: bool) -> None:
        for widget in (self.login, self.password, self.buttons):
            widget.setEnabled(not busy)
