"""Test infrastructure: a real PostgreSQL database created and dropped per run, rollback per test,
an SQLite variant for the embedded default, and a Redis database flushed per test.

Fixtures:
- `pg_engine` / `pg_url`: a fresh PostgreSQL database, migrated to head, for this run only.
- `db`: a Session inside a transaction rolled back after the test (services may commit: their commits
  become savepoint releases). Factories write through it.
- `committed_pg`: a sessionmaker on the real database for tests whose code opens its own sessions
  (jobs, workers, web requests); every table is truncated afterwards.
- `sqlite_engine` / `sqlite_sessionmaker`: the embedded default in a temporary file, migrated to head.
- `redis_url` / `redis_conn`: a Redis database of the local server for this run, flushed before and after.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from chat2order.db import Base, make_engine, normalise_url
from chat2order.migrate import upgrade
from tests import factories

ADMIN_URL = os.environ.get("TEST_DATABASE_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# One Redis database per test run (1..15 by process id) so parallel runs on one machine do not flush each other.
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", f"redis://127.0.0.1:6379/{1 + os.getpid() % 15}")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    admin_url = normalise_url(ADMIN_URL)
    name = f"c2o_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    upgrade(pg_url, engine=engine)
    yield engine
    engine.dispose()


@pytest.fixture
def db(pg_engine: Engine) -> Iterator[Session]:
    connection = pg_engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    factories.bind(session)
    try:
        yield session
    finally:
        factories.bind(None)
        session.close()
        outer.rollback()
        connection.close()


def _truncate_all(engine: Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def committed_pg(pg_engine: Engine) -> Iterator[sessionmaker[Session]]:
    maker = sessionmaker(pg_engine, expire_on_commit=False)
    session = maker()
    factories.bind(session, commit=True)
    try:
        yield maker
    finally:
        factories.bind(None)
        session.close()
        _truncate_all(pg_engine)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'chat2order.sqlite3'}"


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    upgrade(sqlite_url, engine=engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_sessionmaker(sqlite_engine: Engine) -> Iterator[sessionmaker[Session]]:
    maker = sessionmaker(sqlite_engine, expire_on_commit=False)
    session = maker()
    factories.bind(session, commit=True)
    try:
        yield maker
    finally:
        factories.bind(None)
        session.close()


@pytest.fixture
def redis_url() -> Iterator[str]:
    import redis

    conn = redis.Redis.from_url(REDIS_TEST_URL)
    conn.flushdb()
    yield REDIS_TEST_URL
    conn.flushdb()
    conn.close()


@pytest.fixture
def redis_conn(redis_url: str) -> Iterator[object]:
    import redis

    conn = redis.Redis.from_url(redis_url)
    yield conn
    conn.close()
