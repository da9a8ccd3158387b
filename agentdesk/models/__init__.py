"""The agentdesk schema: SQLAlchemy 2.x typed ORM classes, no business rules, no Qt."""

from agentdesk.models.audit import AuditEntry
from agentdesk.models.auth import AuthSession, SigninThrottle
from agentdesk.models.base import Base, utcnow
from agentdesk.models.customer import (
    Customer,
    CustomerAddress,
    CustomerEmail,
    CustomerHistory,
    CustomerPhone,
    IdentityDocument,
    Product,
)
from agentdesk.models.desk import DeskDraft, DeskScriptRun
from agentdesk.models.duplicates import DuplicateCandidate, MergeRequest
from agentdesk.models.enums import (
    Channel,
    ContactLabel,
    CustomerKind,
    Direction,
    DocumentKind,
    IdvResult,
    OutboxState,
    ProductKind,
    Role,
    Severity,
    TicketPriority,
    TicketStatus,
)
from agentdesk.models.followup import Reminder, ReminderState, TicketAlert
from agentdesk.models.interaction import CallRecord, Interaction
from agentdesk.models.org import Agent, AgentSkill, Queue, Skill, Team, agent_team
from agentdesk.models.queue_record import QueueRecord
from agentdesk.models.reference import Disposition, KnowledgeArticle, KnowledgeArticleVersion
from agentdesk.models.scheduling import (
    Notification,
    NotificationState,
    ScheduledTimer,
    SchedulerLease,
)
from agentdesk.models.sync import (
    AppliedMutation,
    ChangeLog,
    ConflictReview,
    OutboxEntry,
    SyncClient,
    SyncPin,
    SyncState,
)
from agentdesk.models.ticket import Ticket, TicketComment, TicketHistory

__all__ = [
    "Agent",
    "AgentSkill",
    "AppliedMutation",
    "AuditEntry",
    "AuthSession",
    "Base",
    "CallRecord",
    "ChangeLog",
    "Channel",
    "ConflictReview",
    "ContactLabel",
    "Customer",
    "CustomerAddress",
    "CustomerEmail",
    "CustomerHistory",
    "CustomerKind",
    "CustomerPhone",
    "DeskDraft",
    "DeskScriptRun",
    "Direction",
    "Disposition",
    "DocumentKind",
    "DuplicateCandidate",
    "IdentityDocument",
    "IdvResult",
    "Interaction",
    "KnowledgeArticle",
    "KnowledgeArticleVersion",
    "MergeRequest",
    "Notification",
    "NotificationState",
    "OutboxEntry",
    "OutboxState",
    "Product",
    "ProductKind",
    "Queue",
    "QueueRecord",
    "Reminder",
    "ReminderState",
    "Role",
    "ScheduledTimer",
    "SchedulerLease",
    "Severity",
    "SigninThrottle",
    "Skill",
    "SyncClient",
    "SyncPin",
    "SyncState",
    "Team",
    "Ticket",
    "TicketAlert",
    "TicketComment",
    "TicketHistory",
    "TicketPriority",
    "TicketStatus",
    "agent_team",
    "utcnow",
]
