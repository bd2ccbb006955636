"""The product's fixed vocabularies (DESIGN.md "Words"), shared by every layer."""

from enum import StrEnum


class Locale(StrEnum):
    PL = "pl"
    CS = "cs"
    EN = "en"


class ClientKind(StrEnum):
    PERSON = "person"
    COMPANY = "company"


class EmployeeRole(StrEnum):
    MANAGER = "manager"
    EXECUTOR = "executor"
    OTHER = "other"


class ContextKind(StrEnum):
    """What a message can concern: a record of the host application."""

    ORDER = "order"
    TICKET = "ticket"
    TASK = "task"
    DOCUMENT = "document"
    MAIL_ITEM = "mail_item"


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    PORTAL = "portal"
    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"
    VIBER = "viber"
    LETTER = "letter"


class Direction(StrEnum):
    OUTBOUND = "out"
    INBOUND = "in"


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"  # the network gave up (SMS delivery report)
    EXPIRED = "expired"  # validity ran out before the phone took it
    FAILED = "failed"
    BOUNCED = "bounced"
