"""Channels in: thin adapters (Twilio webhooks, the SMTP handler, the chat API) that verify, store, then queue."""
