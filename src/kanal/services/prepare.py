"""Turn claimed deliveries into work a channel can do: rendered email, portal inbox rows,
SMS with their gateway route (``prepare_sms``).

Everything a batch needs is loaded with a handful of IN queries, so one claim of 200
deliveries costs a few round trips, not hundreds.
"""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kanal.channels.base import Failed
from kanal.channels.sms.base import SmsMessage
from kanal.channels.smtp import Envelope, SmtpSettings
from kanal.core import mail
from kanal.core.i18n import pick_locale, translate
from kanal.core.secretbox import SecretBox
from kanal.core.vocab import Channel
from kanal.services import prepare_sms
from kanal.services.outbox import Claimed
from kanal.services.prepare_sms import SmsRoute
from kanal.store.messaging import Delivery, Mailbox, Message, SmtpAccount, Thread
from kanal.store.models import Branch, Client, Context, Employee, Tenant


@dataclass(frozen=True)
class Work:
    """One claimed delivery, ready for its channel."""

    claimed: Claimed
    channel: str
    message_id: uuid.UUID
    envelope: Envelope | None = None
    smtp: SmtpSettings | None = None  # None for an email: the dev outbox captures it
    subject: str | None = None
    portal_client_id: uuid.UUID | None = None
    failed: Failed | None = None  # could not even be prepared
    sms: SmsMessage | None = None  # with the primary's callback URL
    sms_route: SmsRoute | None = None


@dataclass(frozen=True)
class MailSetup:
    mail_domain: str
    relay: SmtpSettings | None
    secrets: SecretBox
    # SMS: how providers reach us, and the service's gateways (see services.prepare_sms)
    base_url: str = "http://127.0.0.1:8000"
    sms_gateways: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    sms_primary: str = "dev"
    sms_secondary: str | None = None

    def sms_setup(self) -> prepare_sms.SmsSetup:
        return prepare_sms.SmsSetup(
            self.base_url, self.sms_gateways, self.sms_primary, self.sms_secondary, self.secrets
        )


def _by_id(session: Session, model: Any, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, Any]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(wanted)))}


@dataclass
class _Batch:
    """The rows a batch of deliveries refers to, loaded once."""

    deliveries: dict[uuid.UUID, Delivery]
    messages: dict[uuid.UUID, Message]
    threads: dict[uuid.UUID, Thread]
    contexts: dict[uuid.UUID, Context]
    clients: dict[uuid.UUID, Client]
    employees: dict[uuid.UUID, Employee]
    tenants: dict[uuid.UUID, Tenant]
    mailboxes: dict[uuid.UUID, str]
    main_branches: dict[uuid.UUID, Branch]
    branches: dict[uuid.UUID, Branch]
    smtp: dict[uuid.UUID, SmtpAccount]


def _load(session: Session, claimed: Sequence[Claimed]) -> _Batch:
    deliveries = _by_id(session, Delivery, {c.delivery_id for c in claimed})
    # An SMS carries its exact text on the delivery: nothing else to load for it.
    claimed = [c for c in claimed if c.channel != Channel.SMS]
    if not claimed:
        return _Batch(deliveries, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})
    messages = _by_id(
        session, Message, {d.message_id for d in deliveries.values() if d.channel != Channel.SMS}
    )
    threads = _by_id(session, Thread, {m.thread_id for m in messages.values()})
    contexts = _by_id(session, Context, {t.context_id for t in threads.values()})
    employee_ids = {
        uuid.UUID(m.meta["employee_id"]) for m in messages.values() if m.meta.get("employee_id")
    }
    tenant_ids = {c.tenant_id for c in claimed}
    mailboxes = {
        tenant_id: local
        for tenant_id, local in session.execute(
            select(Mailbox.tenant_id, Mailbox.local_part).where(
                Mailbox.tenant_id.in_(tenant_ids), Mailbox.is_current
            )
        ).all()
    }
    main_branches = {
        b.tenant_id: b
        for b in session.scalars(
            select(Branch).where(Branch.tenant_id.in_(tenant_ids), Branch.is_main)
        )
    }
    smtp = {
        s.tenant_id: s
        for s in session.scalars(select(SmtpAccount).where(SmtpAccount.tenant_id.in_(tenant_ids)))
    }
    return _Batch(
        deliveries=deliveries,
        messages=messages,
        threads=threads,
        contexts=contexts,
        clients=_by_id(session, Client, {t.client_id for t in threads.values()}),
        employees=_by_id(session, Employee, employee_ids),
        tenants=_by_id(session, Tenant, set(tenant_ids)),
        mailboxes=mailboxes,
        main_branches=main_branches,
        branches=_by_id(session, Branch, {c.branch_id for c in contexts.values()}),
        smtp=smtp,
    )


def prepare(session: Session, claimed: Sequence[Claimed], setup: MailSetup) -> list[Work]:
    batch = _load(session, claimed)
    texting = {c.tenant_id for c in claimed if c.channel == Channel.SMS}
    sms_batch = prepare_sms.load(session, texting)
    sms_setup = setup.sms_setup() if texting else None
    work = []
    for item in claimed:
        delivery = batch.deliveries[item.delivery_id]
        if sms_setup is not None and delivery.channel == Channel.SMS:
            ready = prepare_sms.sms_work(sms_batch, sms_setup, delivery)
            if isinstance(ready, Failed):
                work.append(Work(item, Channel.SMS, delivery.message_id, failed=ready))
            else:
                sms, route = ready
                work.append(Work(item, Channel.SMS, delivery.message_id, sms=sms, sms_route=route))
            continue
        message = batch.messages[delivery.message_id]
        thread = batch.threads[message.thread_id]
        if delivery.channel == Channel.PORTAL:
            work.append(Work(item, delivery.channel, message.id, portal_client_id=thread.client_id))
        elif delivery.channel == Channel.EMAIL:
            work.append(_email_work(batch, item, delivery, message, thread, setup))
        else:
            failed = Failed("channel_unavailable", f"no adapter for {delivery.channel}")
            work.append(Work(item, delivery.channel, message.id, failed=failed))
    return work


def _smtp_settings(account: SmtpAccount, secrets: SecretBox) -> SmtpSettings:
    password = secrets.open(account.password_encrypted) if account.password_encrypted else None
    return SmtpSettings(
        host=account.host,
        port=account.port,
        security=account.security,  # type: ignore[arg-type]
        username=account.username,
        password=password,
        auth=account.auth,  # type: ignore[arg-type]
        helo_name=account.helo_name,
    )


def _email_work(
    batch: _Batch, item: Claimed, delivery: Delivery, message: Message, thread: Thread,
    setup: MailSetup,
) -> Work:  # fmt: skip
    tenant = batch.tenants[item.tenant_id]
    context = batch.contexts.get(thread.context_id) if thread.context_id else None
    # The branch where the order was accepted speaks; else the main branch (seed 000).
    branch = (
        batch.branches.get(context.branch_id) if context and context.branch_id else None
    ) or batch.main_branches.get(tenant.id)
    local = batch.mailboxes.get(tenant.id)
    if local is None:  # never send from a shared name: replies could not find the tenant
        failed = Failed("mailbox_missing", "the account has no mailbox")
        return Work(item, Channel.EMAIL, message.id, failed=failed)
    from_address = f"{local}@{setup.mail_domain}"
    reply_address = f"{local}+{thread.reply_token}@{setup.mail_domain}"
    client = batch.clients.get(thread.client_id) if thread.client_id else None
    employee_id = message.meta.get("employee_id")
    employee = batch.employees.get(uuid.UUID(employee_id)) if employee_id else None
    to_name = (
        client.name if client else employee.name if employee else message.meta.get("recipient_name")
    )
    subject = message.subject or thread.subject or (branch.trade_name if branch else tenant.name)
    text, html = message.body_text, message.body_html
    attachments = tuple(
        mail.Attachment(a.filename, a.content_type, a.data) for a in message.attachments
    )
    automatic = message.automatic
    if delivery.purpose == "portal_notice":
        locale = pick_locale(client.locale if client else None, tenant.locale)
        name = branch.trade_name if branch else tenant.name
        subject = translate("portal_notice_subject", locale, {"name": name})
        text = translate(
            "portal_notice_text", locale, {"name": name, "subject": message.subject or ""}
        )
        html, attachments, automatic = None, (), True
    account = batch.smtp.get(tenant.id)
    smtp = _smtp_settings(account, setup.secrets) if account else setup.relay
    outgoing = mail.OutgoingEmail(
        from_address=from_address,
        from_name=branch.trade_name if branch else tenant.name,
        to=((to_name, delivery.recipient),),
        # Replies reach the branch's people (seed 000) and come back into the thread (seed 001).
        reply_to=(branch.email, reply_address) if branch and branch.email else reply_address,
        subject=subject,
        text=text,
        html=html,
        message_id=message.email_message_id or mail.make_message_id(setup.mail_domain),
        in_reply_to=message.email_in_reply_to,
        references=tuple((message.email_references or "").split()),
        automatic=automatic,
        attachments=attachments,
        headers=(("X-Kanal-Delivery", str(delivery.id)),),
    )
    try:
        raw = mail.build_email(outgoing)
    except ValueError as exc:
        return Work(item, Channel.EMAIL, message.id, failed=Failed("email_invalid", str(exc)))
    recipients = [mail.smtp_address(delivery.recipient)]
    if account and account.bcc:
        recipients.append(mail.smtp_address(account.bcc))
    envelope = Envelope(
        mail_from=mail.smtp_address(
            account.return_path if account and account.return_path else from_address
        ),
        recipients=tuple(recipients),
        message=raw,
        smtputf8=mail.needs_smtputf8(outgoing),
    )
    return Work(item, Channel.EMAIL, message.id, envelope=envelope, smtp=smtp, subject=subject)
