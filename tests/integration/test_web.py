"""The app factory's own routes and error mapping: health, readiness, JSON errors."""

from __future__ import annotations

import pytest

from chat2order.config import Settings
from chat2order.runtime import Runtime
from chat2order.web import create_app


@pytest.mark.postgres
@pytest.mark.redis
def test_readyz_is_ok_with_database_and_redis_up(pg_engine, redis_url: str) -> None:
    app = create_app(runtime=Runtime(Settings(redis_url=redis_url), engine=pg_engine))

    response = app.test_client().get("/readyz")

    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_reports_503_when_redis_is_unreachable(sqlite_engine) -> None:
    settings = Settings(redis_url="redis://127.0.0.1:1/0")
    app = create_app(runtime=Runtime(settings, engine=sqlite_engine))

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("error")


def test_readyz_reports_503_when_the_database_is_unreachable() -> None:
    from chat2order.db import make_engine

    dead = make_engine("postgresql://postgres@127.0.0.1:1/nowhere", pool_pre_ping=False)
    app = create_app(runtime=Runtime(Settings(), engine=dead))

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    dead.dispose()


def test_healthz_answers_without_touching_dependencies() -> None:
    from chat2order.db import make_engine

    dead = make_engine("postgresql://postgres@127.0.0.1:1/nowhere", pool_pre_ping=False)
    app = create_app(runtime=Runtime(Settings(redis_url="redis://127.0.0.1:1/0"), engine=dead))

    assert app.test_client().get("/healthz").get_json() == {"status": "ok"}


def test_unknown_route_is_a_json_404() -> None:
    app = create_app(runtime=Runtime(Settings()))

    response = app.test_client().get("/no/such/page")

    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_app_factory_leaves_queue_parser_and_senders_unbuilt() -> None:
    # A web process must not load spaCy or open Redis just by starting.
    rt = Runtime(Settings(database_url="postgresql://postgres@127.0.0.1:1/nowhere"))

    create_app(runtime=rt)

    assert (rt._queue, rt._contexts, rt._senders) == (None, None, None)
