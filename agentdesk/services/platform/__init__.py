"""Platform services: who may sign in, their sessions, and the directory behind them."""

from agentdesk.services.platform.auth import hash_password, verify_password
from agentdesk.services.platform.signin import (
    AccountLocked,
    AgentProfile,
    AuditWriter,
    Directory,
    DirectoryUnavailable,
    DirectoryUser,
    NotEntitled,
    SessionGrant,
    SessionInfo,
    SignInError,
    SignInPolicy,
    SignInService,
    WrongCredentials,
)

__all__ = [
    "AccountLocked",
    "AgentProfile",
    "AuditWriter",
    "Directory",
    "DirectoryUnavailable",
    "DirectoryUser",
    "NotEntitled",
    "SessionGrant",
    "SessionInfo",
    "SignInError",
    "SignInPolicy",
    "SignInService",
    "WrongCredentials",
    "hash_password",
    "verify_password",
]
