"""Local stand-ins for outside services, reusable by any test: Twilio's REST API and an SMTP sink."""
