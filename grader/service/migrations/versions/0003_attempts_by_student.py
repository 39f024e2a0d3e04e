"""An index of attempts by student and time: the fair-use caps (grader.service.uploads)
count one student's uploads of the day over all their assignments in every upload's
transaction, which without it reads the whole attempts table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("attempts_by_student", "attempts", ["student_id", "submitted_at"])


def downgrade() -> None:
    op.drop_index("attempts_by_student", "attempts")
