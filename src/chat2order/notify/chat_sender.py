"""Web chat replies: the message is delivered by being stored.

The chat API and page read a conversation's replies from the outbox rows, so "sending" one only marks the
row sent; there is no provider to call and nothing that could be sent twice.
"""

from __future__ import annotations

from chat2order.notify import Outgoing, Sent


class ChatStoreSender:
    name = "chat"
    resend_is_deduplicated = True

    def send(self, msg: Outgoing) -> Sent:
        return Sent(provider_id=f"chat:{msg.outbox_id}")

    def find_sent(self, msg: Outgoing) -> str | None:
        return None
