"""suppliers.catalog_version, bumped by triggers on catalog_items

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 04:50:00

Every message used to check its supplier's catalog for changes with an aggregate over the whole catalog
(count, newest `updated_at`, highest id), a cost that grows with the catalog. A counter on the supplier,
bumped by the database itself whenever one of its catalog items is inserted, updated or deleted (by any
code path: import, admin, a hand-written SQL fix), is read with the message at no cost. PostgreSQL bumps
once per statement (transition tables), so the catalog import's few bulk statements touch the supplier row
a few times, not once per item; SQLite has row triggers only, and a row update there is cheap.
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_PG_FUNCTION = """
CREATE FUNCTION bump_catalog_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE suppliers SET catalog_version = catalog_version + 1
        WHERE id IN (SELECT DISTINCT supplier_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE suppliers SET catalog_version = catalog_version + 1
        WHERE id IN (SELECT DISTINCT supplier_id FROM old_rows);
    ELSE
        UPDATE suppliers SET catalog_version = catalog_version + 1
        WHERE id IN (SELECT supplier_id FROM new_rows UNION SELECT supplier_id FROM old_rows);
    END IF;
    RETURN NULL;
END
$$
"""
_PG_TRIGGERS = {
    "insert": "REFERENCING NEW TABLE AS new_rows",
    "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "REFERENCING OLD TABLE AS old_rows",
}
_SQLITE_TRIGGERS = {
    "insert": "UPDATE suppliers SET catalog_version = catalog_version + 1 WHERE id = NEW.supplier_id;",
    "update": "UPDATE suppliers SET catalog_version = catalog_version + 1"
              " WHERE id IN (OLD.supplier_id, NEW.supplier_id);",
    "delete": "UPDATE suppliers SET catalog_version = catalog_version + 1 WHERE id = OLD.supplier_id;",
}


def upgrade() -> None:
    with op.batch_alter_table('suppliers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('catalog_version', sa.Integer(), server_default='0', nullable=False))
    if op.get_context().dialect.name == 'postgresql':
        op.execute(_PG_FUNCTION)
        for event, referencing in _PG_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER catalog_items_{event}_bumps_version AFTER {event.upper()} ON catalog_items "
                f"{referencing} FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version()"
            )
    else:
        for event, body in _SQLITE_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER catalog_items_{event}_bumps_version AFTER {event.upper()} ON catalog_items "
                f"FOR EACH ROW BEGIN {body} END"
            )


def downgrade() -> None:
    for event in _SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS catalog_items_{event}_bumps_version"
                   + (" ON catalog_items" if op.get_context().dialect.name == 'postgresql' else ""))
    if op.get_context().dialect.name == 'postgresql':
        op.execute("DROP FUNCTION IF EXISTS bump_catalog_version()")
    with op.batch_alter_table('suppliers', schema=None) as batch_op:
        batch_op.drop_column('catalog_version')
