"""Roster sync (LTI Names and Role Provisioning Services): the LMS's list of a course's
members decides who keeps a seat here. A student the LMS no longer lists (withdrawn, or
no longer active) loses their seat and their access to the link's assignment (their
token is revoked, their sessions end with it); a listed learner who never launched is
added (a student and a seat, so the class list and grade passback know them before
their first visit). Instructors are never removed here: their access is their own.

Run for every link of a course when an instructor launches it, and by
`grader serve lti sync`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pylti1p3.names_roles import NamesRolesProvisioningService
from pylti1p3.service_connector import ServiceConnector
from sqlalchemy import Engine, select, update

from grader.service import db
from grader.service.lti import launch, platforms
from grader.service.lti.adapter import TimedSession


@dataclass(frozen=True)
class Synced:
    link_id: int
    added: int
    withdrawn: int
    kept: int


def sync_link(engine: Engine, link_id: int) -> Synced:
    """Bring one link's seats in line with the LMS's member list."""
    with db.reading(engine) as connection:
        link = connection.execute(select(db.lti_links).where(db.lti_links.c.id == link_id)
                                  ).one()
        platform = platforms.by_id(connection, link.platform_id)
    if not link.memberships_url or link.assignment_id is None:
        return Synced(link_id, 0, 0, 0)
    registration = platforms.registration(engine, platform)
    service = NamesRolesProvisioningService(ServiceConnector(registration, TimedSession()),
                                            {"context_memberships_url": link.memberships_url})
    learners = {}
    for member in service.get_members():
        if not isinstance(member, dict) or not member.get("user_id"):
            continue
        if member.get("status", "Active") != "Active" or launch.is_staff(member.get("roles")):
            continue
        learners[str(member["user_id"])[:255]] = member
    return _apply(engine, link_id, platform, int(link.assignment_id), learners)


def _apply(engine: Engine, link_id: int, platform: platforms.Platform, assignment_id: int,
           learners: dict[str, dict[str, object]]) -> Synced:
    added = withdrawn = kept = 0
    with db.writing(engine) as connection:
        seated = {row.sub: row for row in connection.execute(
            select(db.lti_seats.c.id, db.lti_seats.c.active, db.lti_users.c.sub,
                   db.lti_users.c.student_id)
            .join(db.lti_users, db.lti_users.c.id == db.lti_seats.c.user_id)
            .where(db.lti_seats.c.link_id == link_id))}
        for sub, row in seated.items():
            if sub in learners or not row.active or row.student_id is None:
                continue
            connection.execute(update(db.lti_seats).where(db.lti_seats.c.id == row.id)
                               .values(active=0))
            connection.execute(update(db.tokens).where(
                db.tokens.c.student_id == row.student_id,
                db.tokens.c.assignment_id == assignment_id,
                db.tokens.c.revoked_at.is_(None)).values(revoked_at=db.now()))
            withdrawn += 1
        for sub, member in learners.items():
            if sub in seated and seated[sub].active:
                kept += 1
                continue
            entry = launch.Launch(
                platform=platform, sub=sub, name=str(member.get("name") or sub)[:1000],
                email=str(member["email"]) if member.get("email") else None, staff=False,
                message_type="", resource_link_id=None, link_title=None, context_id=None,
                context_title=None, assignment_name=None, lineitems_url=None,
                lineitem_url=None, ags_scopes=(), memberships_url=None, deep_linking={},
                deployment_id="")
            launch.enrol(connection, entry, link_id, assignment_id)
            added += 1
    return Synced(link_id, added, withdrawn, kept)


def sync_context(engine: Engine, platform_id: int, context_id: str | None) -> list[Synced]:
    """Every link of one LMS course (an instructor's launch syncs their course)."""
    with db.reading(engine) as connection:
        ids = connection.execute(select(db.lti_links.c.id).where(
            db.lti_links.c.platform_id == platform_id,
            db.lti_links.c.context_id == context_id)).scalars().all()
    return [sync_link(engine, link_id) for link_id in ids]


def sync_all(engine: Engine) -> list[Synced]:
    with db.reading(engine) as connection:
        ids = connection.execute(select(db.lti_links.c.id)
                                 .order_by(db.lti_links.c.id)).scalars().all()
    return [sync_link(engine, link_id) for link_id in ids]

