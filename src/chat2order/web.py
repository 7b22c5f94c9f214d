"""The Flask app factory: blueprints, request limits, JSON errors, proxy awareness, health checks, metrics.

`create_app(settings=None, runtime=None)` builds one app around one `Runtime` (made from the environment
when not given). Gunicorn runs `chat2order.web:create_app()`. Blueprints are listed in `BLUEPRINT_MODULES`
(each module exposes `bp`, or `register(app)` when it needs more than a blueprint); add yours with a
one-line edit. Routes reach the runtime with `current_runtime()`.

Errors are JSON everywhere: a project error maps to 400/404/422, a request over `MAX_CONTENT_LENGTH` to
413, and a database that cannot be reached to 503 with `Retry-After` (Twilio then tries its fallback URL
and senders retry) rather than a 500.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, jsonify
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from chat2order.config import Settings
from chat2order.errors import Chat2OrderError, InvalidInput, NotFound, ParseError

if TYPE_CHECKING:
    from flask.typing import ResponseReturnValue

    from chat2order.runtime import Runtime

log = logging.getLogger(__name__)

BLUEPRINT_MODULES: tuple[str, ...] = (
    "chat2order.channels.twilio",
    "chat2order.channels.chat",
)

EXTENSION_KEY = "chat2order.runtime"


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    """Build the web app. Settings are read from the environment only when neither argument is given."""
    from chat2order.runtime import Runtime

    if runtime is None:
        runtime = Runtime.from_settings(settings if settings is not None else Settings.from_env())
    settings = runtime.settings
    from chat2order.observability import configure

    configure(settings, "web")  # idempotent: the first call in a process sets logging (and Sentry) up

    app = Flask("chat2order")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        # Form bodies (Twilio) are capped by MAX_CONTENT_LENGTH too; keep werkzeug's own part limits generous.
        MAX_FORM_MEMORY_SIZE=settings.max_content_length,
        JSON_SORT_KEYS=False,
    )
    app.extensions[EXTENSION_KEY] = runtime
    # One proxy hop in front (Heroku router, a load balancer, nginx): trust its X-Forwarded-* so url_for,
    # request.url and the Twilio signature fallback see the public scheme and host.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1)  # type: ignore[method-assign]

    _register_errors(app)
    _register_health(app)
    _register_metrics(app)
    for name in BLUEPRINT_MODULES:
        module = importlib.import_module(name)
        if hasattr(module, "register"):
            module.register(app)
        else:
            app.register_blueprint(module.bp)
    return app


def current_runtime() -> Runtime:
    """The runtime of the app serving this request."""
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]


def error_response(status: int, error: str, message: str, **extra: Any) -> ResponseReturnValue:
    body: dict[str, Any] = {"error": error, "message": message, **extra}
    return jsonify(body), status


def _register_errors(app: Flask) -> None:
    from sqlalchemy.exc import InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        name = (exc.name or "error").lower().replace(" ", "_")
        response = exc.get_response()
        response.data = jsonify({"error": name, "message": exc.description or exc.name}).get_data()
        response.content_type = "application/json"
        return response

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound) -> ResponseReturnValue:
        return error_response(404, "not_found", str(exc) or "not found")

    @app.errorhandler(InvalidInput)
    def invalid(exc: InvalidInput) -> ResponseReturnValue:
        return error_response(400, "invalid_input", str(exc))

    @app.errorhandler(ParseError)
    def unparseable(exc: ParseError) -> ResponseReturnValue:
        return error_response(422, "parse_error", str(exc))

    @app.errorhandler(Chat2OrderError)
    def other(exc: Chat2OrderError) -> ResponseReturnValue:
        return error_response(400, "error", str(exc))

    def unavailable(exc: Exception) -> ResponseReturnValue:
        log.error("database unavailable: %s", exc)
        response = jsonify({"error": "unavailable", "message": "the database is unavailable; retry later"})
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response

    for db_error in (OperationalError, InterfaceError, PoolTimeout):
        app.register_error_handler(db_error, unavailable)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> ResponseReturnValue:
        log.exception("unhandled error")
        return error_response(500, "internal_error", "internal error")


def _register_health(app: Flask) -> None:
    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        """Liveness: the process answers. Never touches a dependency, so a DB outage does not restart us."""
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    def readyz() -> ResponseReturnValue:
        """Readiness: the database answers, and Redis too when jobs go through it."""
        rt = current_runtime()
        checks = {"database": _check_database(rt)}
        if rt.settings.redis_url:
            checks["redis"] = _check_redis(rt.settings.redis_url)
        ready = all(v == "ok" for v in checks.values())
        return jsonify({"status": "ok" if ready else "unavailable", "checks": checks}), 200 if ready else 503


def _register_metrics(app: Flask) -> None:
    @app.get("/metrics")
    def metrics() -> ResponseReturnValue:
        """Prometheus exposition: this process's (or, under gunicorn, all workers') metrics plus queue depth
        and orders by status, read at scrape time."""
        from flask import Response

        from chat2order import scrape_metrics

        body, content_type = scrape_metrics.render(current_runtime())
        return Response(body, mimetype=None, content_type=content_type)


def _check_database(rt: Runtime) -> str:
    from sqlalchemy import text

    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure instead of raising it
        return f"error: {type(exc).__name__}"


def _check_redis(url: str) -> str:
    import redis

    try:
        conn = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            conn.ping()
        finally:
            conn.close()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure instead of raising it
        return f"error: {type(exc).__name__}"
