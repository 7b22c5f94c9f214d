"""The schema: migrations both ways on both databases, and every factory builds a valid row."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from chat2order import tables
from chat2order.db import Base, make_engine
from chat2order.migrate import downgrade, upgrade
from tests import factories


def _assert_round_trip(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(url, engine=engine)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        downgrade(url, "base", engine=engine)
        assert not set(Base.metadata.tables) & set(inspect(engine).get_table_names())
        upgrade(url, engine=engine)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_upgrade_and_downgrade_on_sqlite(sqlite_url: str) -> None:
    _assert_round_trip(sqlite_url)


def test_migrations_upgrade_and_downgrade_on_postgresql(pg_url: str) -> None:
    scratch = pg_url + "_mig"
    from sqlalchemy import create_engine, text

    admin = create_engine(pg_url.rsplit("/", 1)[0] + "/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{scratch.rsplit("/", 1)[1]}"'))
    try:
        _assert_round_trip(scratch)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()


def test_catalog_changes_bump_the_suppliers_catalog_version_on_sqlite(sqlite_sessionmaker) -> None:  # type: ignore[no-untyped-def]
    from chat2order.tables import Supplier

    supplier = factories.SupplierFactory()
    item = factories.CatalogItemFactory(supplier=supplier)
    with sqlite_sessionmaker() as session:

        def version() -> int:
            return session.scalar(select(Supplier.catalog_version).where(Supplier.id == supplier.id))

        inserted = version()
        session.get(type(item), item.id).name = "renamed"
        session.flush()
        updated = version()
        session.delete(session.get(type(item), item.id))
        session.flush()
        assert 0 < inserted < updated < version()


def test_models_match_the_latest_migration(pg_engine) -> None:  # type: ignore[no-untyped-def]
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with pg_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


@pytest.mark.parametrize("factory", factories._ALL, ids=lambda f: f.__name__)
def test_every_factory_builds_a_row_on_postgresql(db, factory) -> None:  # type: ignore[no-untyped-def]
    obj = factory()
    db.flush()
    assert db.get(type(obj), obj.id) is obj


@pytest.mark.parametrize("factory", factories._ALL, ids=lambda f: f.__name__)
def test_every_factory_builds_a_row_on_sqlite(sqlite_sessionmaker, factory) -> None:  # type: ignore[no-untyped-def]
    obj = factory()
    with sqlite_sessionmaker() as session:
        assert session.get(type(obj), obj.id) is not None


def test_inbound_message_is_unique_per_channel_and_provider_id(db) -> None:  # type: ignore[no-untyped-def]
    first = factories.InboundMessageFactory(channel="sms", provider_id="SM123")
    factories.InboundMessageFactory(channel="email", provider_id="SM123")
    with pytest.raises(IntegrityError), db.begin_nested():
        factories.InboundMessageFactory(channel="sms", provider_id="SM123")
    assert db.scalars(select(tables.InboundMessage).where(tables.InboundMessage.provider_id == "SM123")).all()
    assert first.id


def test_money_comes_back_as_decimal(db) -> None:  # type: ignore[no-untyped-def]
    from decimal import Decimal

    item = factories.CatalogItemFactory(price=Decimal("32.50"))
    db.expire_all()
    loaded = db.get(tables.CatalogItem, item.id)
    assert loaded.price == Decimal("32.50") and isinstance(loaded.price, Decimal)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_local_time_comes_back_as_the_same_instant(database, request) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    if database == "sqlite":
        maker = request.getfixturevalue("sqlite_sessionmaker")
        session = maker()
    else:
        session = request.getfixturevalue("db")
    late_in_paris = dt.datetime(2026, 11, 5, 23, 20, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    message = factories.InboundMessageFactory(received_at=late_in_paris)
    session.expire_all()
    loaded = session.get(tables.InboundMessage, message.id)
    assert loaded.received_at == late_in_paris
    assert loaded.received_at.utcoffset() == dt.timedelta(0)


def test_a_naive_time_is_refused(db) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from sqlalchemy.exc import StatementError

    with pytest.raises(StatementError, match="naive datetime"), db.begin_nested():
        factories.InboundMessageFactory(received_at=dt.datetime(2026, 11, 5, 23, 20))
