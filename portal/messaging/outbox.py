"""Sending e-mail: every message is written to the outbox; SMTP delivers it when configured."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage

from portal.core.clock import now
from portal.messaging.tables import OutboxMail
from portal.settings import settings


def _deliver(recipient: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = recipient
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message)


async def send_mail(recipient: str, subject: str, body: str, establishment_id: int | None = None) -> int:
    """Keep the mail in the outbox and, when SMTP is configured, deliver it. Returns the outbox id."""
    rows = await OutboxMail.insert(
        OutboxMail(recipient=recipient, subject=subject[:255], body=body, establishment=establishment_id,
                   created_at=now())
    ).returning(OutboxMail.id)
    mail_id = rows[0]["id"]
    if settings.smtp_host:
        try:
            await asyncio.to_thread(_deliver, recipient, subject, body)
        except (OSError, smtplib.SMTPException) as error:
            await OutboxMail.update({OutboxMail.error: str(error)[:500]}).where(OutboxMail.id == mail_id)
        else:
            await OutboxMail.update({OutboxMail.sent_at: now()}).where(OutboxMail.id == mail_id)
    return mail_id
