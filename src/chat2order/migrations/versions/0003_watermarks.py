"""watermarks: how far each periodic sweep (Twilio reconciliation) got

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 04:25:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('watermarks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_watermarks')),
    sa.UniqueConstraint('name', name=op.f('uq_watermarks_name'))
    )


def downgrade() -> None:
    op.drop_table('watermarks')
