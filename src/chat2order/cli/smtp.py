"""`chat2order smtp`: run the inbound SMTP server (orders by email)."""

from __future__ import annotations

import click

from chat2order.cli.base import Env, pass_env


@click.command("smtp", short_help="Run the inbound SMTP server (orders by email).")
@click.option("--listen", default=None, metavar="HOST:PORT", help="Address to listen on (default: SMTP_LISTEN).")
@click.option(
    "--auth",
    "auth_mode",
    type=click.Choice(["enforce", "record", "off"]),
    default="enforce",
    show_default=True,
    help="SPF/DKIM/DMARC: enforce = record and hold unverified mail from known contacts for review; "
    "record = record only; off = no DNS lookups (offline trials).",
)
@click.option(
    "--metrics-port", type=int, default=0, envvar="SMTP_METRICS_PORT", show_default=True,
    help="Serve this process's Prometheus metrics on this port (env SMTP_METRICS_PORT; 0 = off).",
)
@pass_env
def smtp(env: Env, listen: str | None, auth_mode: str, metrics_port: int) -> None:
    """Receive orders by email for the MAIL_DOMAIN addresses (orders+<supplier>@domain)."""
    from chat2order import jobs
    from chat2order.channels.smtp import serve_smtp
    from chat2order.observability import configure
    from chat2order.runtime import Runtime

    settings = env.settings
    configure(settings, "smtp")
    if metrics_port:
        # Email's inbound counters live in this process; the web app's /metrics cannot see them.
        from prometheus_client import start_http_server

        start_http_server(metrics_port)
    if not settings.database_url:
        # The embedded default creates its SQLite schema itself, as `serve` does.
        from chat2order.migrate import upgrade

        settings.var_dir.mkdir(parents=True, exist_ok=True)
        upgrade(settings.effective_database_url)
    rt = Runtime.from_settings(settings)
    jobs.set_runtime(rt)  # in the embedded default the in-process queue runs the jobs here
    domains = ", ".join(settings.mail_domains)
    serve_smtp(
        settings, rt, listen=listen, auth_mode=auth_mode,
        # One line once listening (the actual port when asked for port 0): scripts and tests wait for it.
        on_ready=lambda server: click.echo(f"chat2order smtp on {server.hostname}:{server.port} for {domains}"),
    )


COMMANDS = [smtp]
