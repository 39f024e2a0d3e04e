"""The first schema: the gradebook's tables (as grader.results.gradebook defines them) and
the service's (courses, people, tokens, uploads, attempts, the job queue, sessions).

A frozen copy, as migrations are: tests/service/test_migrations.py compares the migrated
database with grader.results.gradebook.METADATA and grader.service.db.SERVICE, so a
change to either needs a new revision here.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STAMP = 32


def _gradebook() -> None:
    op.create_table("meta", sa.Column("key", sa.String(64), primary_key=True),
                    sa.Column("value", sa.Text(), nullable=False))
    op.create_table(
        "gradings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("student", sa.String(255), nullable=False),
        sa.Column("submission", sa.Text(), nullable=False),
        sa.Column("submission_sha256", sa.String(64), nullable=False),
        sa.Column("exercise", sa.String(255), nullable=False),
        sa.Column("exercise_version", sa.String(64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("max_score", sa.Float(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("graded_at", sa.String(32), nullable=False),
        sa.Column("seconds", sa.Float()),
        sa.Column("grader_version", sa.String(64), nullable=False),
        sa.Column("cache_key", sa.String(64)),
        sa.Column("result_json", sa.Text(), nullable=False),
    )
    op.create_index("gradings_student", "gradings", ["student", "exercise", "id"])
    op.create_index("gradings_cache", "gradings", ["cache_key", "student"])
    op.create_table(
        "check_results",
        sa.Column("grading_id", sa.Integer(), sa.ForeignKey("gradings.id"), primary_key=True),
        sa.Column("check_id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("max_score", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
    )
    # the gradebook's schema version, which Gradebook(engine) checks before reading
    op.bulk_insert(sa.table("meta", sa.column("key", sa.String), sa.column("value", sa.Text)),
                   [{"key": "schema", "value": "1"}])


def _people() -> None:
    op.create_table(
        "instructors",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(STAMP), nullable=False),
        sa.UniqueConstraint("name", name="instructors_name"),
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("exercise", sa.String(255), nullable=False),
        sa.Column("title", sa.Text()),
        sa.Column("deadline", sa.String(STAMP)),
        sa.Column("late_policy", sa.String(16), nullable=False),
        sa.Column("late_penalty_per_day", sa.Float(), nullable=False),
        sa.Column("max_attempts", sa.Integer()),
        sa.Column("cooldown_seconds", sa.Integer(), nullable=False),
        sa.Column("counting", sa.String(8), nullable=False),
        sa.Column("created_at", sa.String(STAMP), nullable=False),
        sa.UniqueConstraint("name", name="assignments_name"),
    )
    op.create_table(
        "students",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("student", sa.String(255), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(STAMP), nullable=False),
        sa.UniqueConstraint("student", name="students_student"),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("student_id", sa.Integer(), sa.ForeignKey("students.id"), nullable=False),
        sa.Column("assignment_id", sa.Integer(), sa.ForeignKey("assignments.id"),
                  nullable=False),
        sa.Column("created_at", sa.String(STAMP), nullable=False),
        sa.Column("revoked_at", sa.String(STAMP)),
        sa.UniqueConstraint("token_hash", name="tokens_hash"),
    )
    op.create_index("tokens_owner", "tokens", ["assignment_id", "student_id"])
    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("instructor_id", sa.Integer(), sa.ForeignKey("instructors.id")),
        sa.Column("token_id", sa.Integer(), sa.ForeignKey("tokens.id")),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(STAMP), nullable=False),
        sa.Column("expires_at", sa.String(STAMP), nullable=False),
    )


def _work() -> None:
    op.create_table(
        "uploads",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("stored_at", sa.String(STAMP), nullable=False),
    )
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("assignment_id", sa.Integer(), sa.ForeignKey("assignments.id"),
                  nullable=False),
        sa.Column("student_id", sa.Integer(), sa.ForeignKey("students.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("upload_sha256", sa.String(64), sa.ForeignKey("uploads.sha256"),
                  nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("suffix", sa.String(8), nullable=False),
        sa.Column("submitted_at", sa.String(STAMP), nullable=False),
        sa.UniqueConstraint("assignment_id", "student_id", "number", name="attempts_number"),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("attempt_id", sa.Integer(), sa.ForeignKey("attempts.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.String(STAMP), nullable=False),
        sa.Column("started_at", sa.String(STAMP)),
        sa.Column("heartbeat_at", sa.String(STAMP)),
        sa.Column("finished_at", sa.String(STAMP)),
        sa.Column("claim", sa.String(32)),
        sa.Column("claimed_by", sa.String(128)),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text()),
    )
    op.create_index("jobs_queue", "jobs", ["state", "priority", "id"])
    op.create_index("jobs_attempt", "jobs", ["attempt_id", "id"])
    op.create_table(
        "job_results",
        sa.Column("job_id", sa.Integer(), sa.ForeignKey("jobs.id"), primary_key=True),
        sa.Column("grading_id", sa.Integer(), sa.ForeignKey("gradings.id"), nullable=False),
        sa.UniqueConstraint("grading_id", name="job_results_grading"),
    )


def upgrade() -> None:
    _gradebook()
    _people()
    _work()


def downgrade() -> None:
    for table in ("job_results", "jobs", "attempts", "uploads", "sessions", "tokens",
                  "students", "assignments", "instructors", "check_results", "gradings",
                  "meta"):
        op.drop_table(table)
