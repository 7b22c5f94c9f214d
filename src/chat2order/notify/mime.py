"""Build the RFC 5322 email for an `Outgoing`: text and HTML alternatives plus attachments.

Used by the SMTP sender and by the file sender (which writes the same bytes as an `.eml`), so what the
embedded default shows is exactly what the relay would receive.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate

from chat2order.notify import Outgoing


def build_email(msg: Outgoing) -> EmailMessage:
    email = EmailMessage(policy=SMTP)
    email["From"] = msg.sender or "orders@chat2order.local"
    email["To"] = msg.to
    if msg.reply_to:
        email["Reply-To"] = msg.reply_to
    email["Subject"] = (msg.subject or "").replace("\r", " ").replace("\n", " ")
    email["Date"] = formatdate(usegmt=True)
    if msg.message_id:
        # The same Message-ID on every attempt: a receiver (or the relay) can drop a resend as a duplicate.
        email["Message-ID"] = msg.message_id
    email["X-Chat2Order-Outbox-Id"] = str(msg.outbox_id)
    email.set_content(msg.body or "")
    if msg.html:
        email.add_alternative(msg.html, subtype="html")
    for attachment in msg.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        email.add_attachment(
            attachment.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return email
