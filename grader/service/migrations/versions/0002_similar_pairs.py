"""The gradebook's similar_pairs table: the pairs a similarity comparison of the class
found (grader.results.gradebook; issue 14), kept beside the grades, never read by one.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "similar_pairs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("exercise", sa.String(255), nullable=False),
        sa.Column("compared_at", sa.String(32), nullable=False),
        sa.Column("a", sa.String(255), nullable=False),
        sa.Column("b", sa.String(1024), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("share_a", sa.Float(), nullable=False),
        sa.Column("share_b", sa.Float(), nullable=False),
        sa.Column("flagged", sa.Integer(), nullable=False),
    )
    op.create_index("similar_pairs_by_time", "similar_pairs", ["exercise", "compared_at"])


def downgrade() -> None:
    op.drop_table("similar_pairs")
