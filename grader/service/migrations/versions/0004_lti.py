"""LTI 1.3: the platforms that launch the tool, the tool's keys, the LMS users and
resource links, and the outbox of grade passback (grader.service.lti).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
STAMP = 32


def upgrade() -> None:
    op.create_table(
        "lti_platforms",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("issuer", sa.String(255), nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("auth_login_url", sa.Text, nullable=False),
        sa.Column("auth_token_url", sa.Text, nullable=False),
        sa.Column("key_set_url", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("created_at", sa.String(STAMP), nullable=False),
        sa.UniqueConstraint("issuer", "client_id", name="lti_platforms_client"))
    op.create_table(
        "lti_deployments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("platform_id", sa.Integer, sa.ForeignKey("lti_platforms.id"),
                  nullable=False),
        sa.Column("deployment_id", sa.String(255), nullable=False),
        sa.UniqueConstraint("platform_id", "deployment_id", name="lti_deployments_id"))
    op.create_table(
        "lti_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("private_pem", sa.Text, nullable=False),
        sa.Column("public_jwk", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(STAMP), nullable=False),
        sa.Column("retired_at", sa.String(STAMP)))
    op.create_table(
        "lti_launch_data",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("expires_at", sa.String(STAMP), nullable=False))
    op.create_table(
        "lti_users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("platform_id", sa.Integer, sa.ForeignKey("lti_platforms.id"),
                  nullable=False),
        sa.Column("sub", sa.String(255), nullable=False),
        sa.Column("student_id", sa.Integer, sa.ForeignKey("students.id")),
        sa.Column("instructor_id", sa.Integer, sa.ForeignKey("instructors.id")),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(STAMP), nullable=False),
        sa.UniqueConstraint("platform_id", "sub", name="lti_users_sub"))
    op.create_table(
        "lti_links",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("platform_id", sa.Integer, sa.ForeignKey("lti_platforms.id"),
                  nullable=False),
        sa.Column("resource_link_id", sa.String(255), nullable=False),
        sa.Column("context_id", sa.String(255)),
        sa.Column("context_title", sa.Text),
        sa.Column("title", sa.Text),
        sa.Column("assignment_id", sa.Integer, sa.ForeignKey("assignments.id")),
        sa.Column("lineitems_url", sa.Text),
        sa.Column("lineitem_url", sa.Text),
        sa.Column("ags_scopes", sa.Text),
        sa.Column("memberships_url", sa.Text),
        sa.Column("updated_at", sa.String(STAMP), nullable=False),
        sa.UniqueConstraint("platform_id", "resource_link_id", name="lti_links_id"))
    op.create_table(
        "lti_seats",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("link_id", sa.Integer, sa.ForeignKey("lti_links.id"), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("lti_users.id"), nullable=False),
        sa.Column("active", sa.Integer, nullable=False),
        sa.UniqueConstraint("link_id", "user_id", name="lti_seats_user"))
    op.create_table(
        "lti_scores",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seat_id", sa.Integer, sa.ForeignKey("lti_seats.id"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.String(STAMP), nullable=False),
        sa.Column("due_at", sa.String(STAMP), nullable=False),
        sa.Column("tries", sa.Integer, nullable=False),
        sa.Column("claim", sa.String(32)),
        sa.Column("score_given", sa.Float),
        sa.Column("score_maximum", sa.Float),
        sa.Column("grading_progress", sa.String(32)),
        sa.Column("sent_at", sa.String(STAMP)),
        sa.Column("error", sa.Text))
    op.create_index("lti_scores_due", "lti_scores", ["state", "due_at"])
    op.create_index("lti_scores_seat", "lti_scores", ["seat_id", "id"])


def downgrade() -> None:
    for table in ("lti_scores", "lti_seats", "lti_links", "lti_users", "lti_launch_data",
                  "lti_keys", "lti_deployments", "lti_platforms"):
        op.drop_table(table)
