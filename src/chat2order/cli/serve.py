"""`chat2order serve`, `chat2order worker` and `chat2order twilio sign|reconcile`: run the processes, sign test
webhooks, fetch inbound messages Twilio holds that we never stored.

`serve` in the embedded default (no REDIS_URL) runs werkzeug's threaded server in one process, because the
in-process job queue and its relay ticker live in that process (and SQLite wants one writer process);
with REDIS_URL set it runs gunicorn (gthread workers) and leaves jobs to `chat2order worker`. The Procfile
runs gunicorn directly.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from typing import Any

import click

from chat2order.cli.base import Env, UserError, pass_env

log = logging.getLogger(__name__)


def _configure_logging(env: Env, process: str) -> None:
    from chat2order.observability import configure

    configure(env.settings, process)


def _runtime(env: Env, queue: Any = None) -> Any:
    from chat2order import jobs
    from chat2order.runtime import Runtime

    rt = Runtime(env.settings, queue=queue)
    jobs.set_runtime(rt)
    return rt


@click.command("serve", short_help="Run the web app (embedded default: with the jobs in-process).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for all).")
@click.option("--port", type=int, default=None, help="Port (default: PORT, else 5000).")
@click.option("--workers", type=int, default=2, show_default=True, help="gunicorn workers (REDIS_URL set only).")
@pass_env
def serve(env: Env, host: str, port: int | None, workers: int) -> None:
    """Run the web app; in the embedded default also the in-process job worker and outbox relay."""
    from chat2order.web import create_app

    _configure_logging(env, "web")
    settings = env.settings
    port = port or settings.port
    if not settings.database_url:
        # The embedded default creates its SQLite schema itself, so `serve` is the only command to run.
        from chat2order.migrate import upgrade

        settings.var_dir.mkdir(parents=True, exist_ok=True)
        upgrade(settings.effective_database_url)
    if settings.embedded_queue:
        rt = _runtime(env)
        _serve_embedded(rt, create_app(runtime=rt), host, port)
    else:
        _serve_gunicorn(settings, host, port, workers)


def _serve_embedded(rt: Any, app: Any, host: str, port: int) -> None:
    from werkzeug.serving import run_simple

    from chat2order.ordering.intake import requeue_received
    from chat2order.worker import Ticker

    recovered = requeue_received(rt)
    if recovered:
        log.info("requeued %d stored messages still waiting for processing", recovered)
    ticker = Ticker(rt)
    ticker.start()
    click.echo(f"chat2order on http://{host}:{port} (embedded: jobs run in this process)")
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        ticker.stop()
        rt.close()  # drains the in-process queue


def _serve_gunicorn(settings: Any, host: str, port: int, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    from chat2order import gunicorn_conf
    from chat2order.web import create_app

    if workers > 1 and "prometheus_client" not in sys.modules:
        # Several workers: /metrics sums them through files (must be set before prometheus_client loads).
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str((settings.var_dir / "prometheus").resolve()))

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", 8)
            self.cfg.set("on_starting", gunicorn_conf.on_starting)
            self.cfg.set("child_exit", gunicorn_conf.child_exit)

        def load(self) -> Any:
            # Called in each forked worker: its engine pool and Redis connections are its own.
            return create_app(settings)

    _Server().run()


@click.command("worker", short_help="Run the job worker (RQ, needs REDIS_URL).")
@click.option("--burst", is_flag=True, help="Run the queued jobs, then exit.")
@click.option("--queue", "queue_name", default="chat2order", show_default=True, help="RQ queue to work.")
@click.option("--warm/--no-warm", default=True, show_default=True, help="Load parser and catalog indexes at start.")
@click.option("--batch", type=click.IntRange(min=1), default=None,
              help="process_message jobs taken per dequeue [default: WORKER_BATCH or 8; 1 = one at a time].")
@pass_env
def worker(env: Env, burst: bool, queue_name: str, warm: bool, batch: int | None) -> None:
    """Run jobs from Redis (RQ) in a warm, non-forking worker with a periodic outbox relay."""
    settings = env.settings
    if not settings.redis_url:
        click.echo(
            "REDIS_URL is not set: in the embedded default `chat2order serve` runs the jobs itself; "
            "no separate worker is needed."
        )
        sys.exit(0)
    _configure_logging(env, "worker")
    from chat2order.jobs import RQQueue
    from chat2order.ordering.intake import requeue_received
    from chat2order.worker import WarmWorker, reconcile_interval, warm_up

    if settings.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.metrics_port)
        log.info("worker metrics on :%d/metrics", settings.metrics_port)
    queue = RQQueue(settings.redis_url, queue_name)
    queue.connection.ping()  # fail now with one clear line (cli.base) rather than deep inside RQ's loop
    rt = _runtime(env, queue)  # the worker's own enqueues (deliver after processing) go to the same queue
    if warm:
        warm_up(rt)
    requeue_received(rt, older_than=dt.timedelta(seconds=30))
    rq_worker = WarmWorker(
        queue.queues, connection=queue.connection, relay_queue=queue, reconcile_every=reconcile_interval(settings),
        batch=batch or settings.worker_batch,
    )
    # RQ's own lines (every job twice, plus each relay tick) stay at WARNING unless RQ_LOG_LEVEL says
    # otherwise: `chat2order.jobs` writes one line per job with its message id instead.
    log.info("worker listening on queue %s", queue_name)
    rq_worker.work(burst=burst, with_scheduler=True, logging_level=os.environ.get("RQ_LOG_LEVEL", "WARNING"))


@click.group("twilio")
def twilio() -> None:
    """Twilio helpers: sign a webhook request to try it locally; reconcile missed inbound messages."""


@twilio.command("sign")
@click.argument("url")
@click.argument("params", nargs=-1)
@click.option("--token", default=None, help="Auth token (default: TWILIO_AUTH_TOKEN).")
@pass_env
def sign(env: Env, url: str, params: tuple[str, ...], token: str | None) -> None:
    """Print the X-Twilio-Signature for a form POST of PARAMS (k=v ...) to URL, for trying webhooks locally."""
    from chat2order.channels.twilio import sign as compute

    token = token or env.settings.twilio_auth_token
    if not token:
        raise UserError("no auth token: set TWILIO_AUTH_TOKEN or pass --token")
    pairs = []
    for param in params:
        name, sep, value = param.partition("=")
        if not sep:
            raise UserError(f"expected k=v, got {param!r}")
        pairs.append((name, value))
    click.echo(compute(url, pairs, token))


@twilio.command("reconcile")
@click.option("--since", "since_text", default=None, metavar="ISO-TIME",
              help="Sweep from this UTC time (e.g. 2026-11-27T22:00) and leave the watermark alone.")
@click.option("--hours", type=float, default=None, help="Sweep the last N hours (leaves the watermark alone).")
@click.option("--number", "numbers", multiple=True, help="Only this number (E.164 or whatsapp:+...); repeatable.")
@pass_env
def reconcile(env: Env, since_text: str | None, hours: float | None, numbers: tuple[str, ...]) -> None:
    """Store inbound SMS/WhatsApp that Twilio holds and we do not (webhooks refused while the database was
    down), through the webhook's own intake; without --since/--hours from the stored watermark onwards."""
    from chat2order.channels.twilio_history import TwilioHistory
    from chat2order.ordering import reconcile as service

    settings = env.settings
    if not settings.twilio_rest_configured:
        raise UserError("set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to read Twilio's message log")
    if since_text and hours is not None:
        raise UserError("give --since or --hours, not both")
    since = None
    if since_text:
        try:
            since = dt.datetime.fromisoformat(since_text)
        except ValueError as exc:
            raise UserError(f"--since: not an ISO time: {since_text!r}") from exc
        since = since if since.tzinfo else since.replace(tzinfo=dt.UTC)
    elif hours is not None:
        since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)
    _configure_logging(env, "cli")
    rt = _runtime(env)
    source = TwilioHistory.from_settings(settings)
    try:
        result = service.reconcile(rt, source, since=since, numbers=list(numbers) or None)
    finally:
        source.close()
        rt.close()  # the embedded default processes what was stored before exiting
    click.echo(
        f"since {result.since.isoformat()}: {result.seen} inbound messages at Twilio, {result.stored} stored now, "
        f"{result.already} already stored, {result.refused} refused; {len(result.numbers)} numbers read"
        + (f", FAILED: {', '.join(result.failed)}" if result.failed else "")
    )
    if result.failed:
        sys.exit(1)


COMMANDS = [serve, worker, twilio]
