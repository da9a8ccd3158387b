"""Customer notifications by e-mail and SMS: templates, channels and the durable outbox."""

from agentdesk.services.notifications.channels import (
    DeliveryError,
    HttpSmsGateway,
    SmsGateway,
    SmsSettings,
    SmsSimulator,
    SmtpMailer,
    SmtpSettings,
    make_sms_gateway,
)
from agentdesk.services.notifications.outbox import NotificationService, NotificationView
from agentdesk.services.notifications.templates import Catalog, TemplateError, load_catalog

__all__ = [
    "Catalog",
    "DeliveryError",
    "HttpSmsGateway",
    "NotificationService",
    "NotificationView",
    "SmsGateway",
    "SmsSettings",
    "SmsSimulator",
    "SmtpMailer",
    "SmtpSettings",
    "TemplateError",
    "load_catalog",
    "make_sms_gateway",
]
