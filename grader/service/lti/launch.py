"""What a validated launch means here: who the LMS user is (a student of the assignment
the link opens, created on first launch; or an instructor), which assignment the link
opens, where their score goes (a seat: the link's line item and their LMS user id), and
the session that signs them in. Nothing is written before the launch is validated
(adapter.ToolLaunch), so a refused launch stores nothing.

Why a student gets a personal-link token they never see: every student route here knows
a student by their token (auth.Student); an LTI student is given one, kept hashed like
any other, so the pages, the API and revocation treat both kinds of student alike.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from grader.ids import student_id
from grader.service import auth, courses, db, policy
from grader.service.lti.platforms import Platform

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DEEP_LINKING = "LtiDeepLinkingRequest"
ASSIGNMENT_PARAMETER = "assignment"  # the custom parameter deep linking sets
# the roles that open the instructor's pages: roles *in the course* (a faculty member
# enrolled as a learner stays a learner there), or the LMS's own administrators
STAFF_ROLES = ("membership#Instructor", "membership#Administrator",
               "membership#ContentDeveloper", "membership/Instructor#TeachingAssistant",
               "system/person#Administrator")


@dataclass(frozen=True)
class Launch:
    """The claims this tool uses, read from a validated id_token."""

    platform: Platform
    sub: str
    name: str
    email: str | None
    staff: bool
    message_type: str
    resource_link_id: str | None
    link_title: str | None
    context_id: str | None
    context_title: str | None
    assignment_name: str | None  # the custom parameter, when the link carries one
    lineitems_url: str | None
    lineitem_url: str | None
    ags_scopes: tuple[str, ...]
    memberships_url: str | None
    deep_linking: dict[str, Any]
    deployment_id: str


def _text(value: object, limit: int = 255) -> str | None:
    return value.strip()[:limit] or None if isinstance(value, str) else None


def is_staff(roles: object) -> bool:
    return isinstance(roles, list) and any(
        isinstance(role, str) and role.endswith(STAFF_ROLES) for role in roles)


def read(platform: Platform, body: dict[str, Any]) -> Launch:
    context = body.get(CLAIM + "context") or {}
    link = body.get(CLAIM + "resource_link") or {}
    custom = body.get(CLAIM + "custom") or {}
    ags = body.get(AGS_CLAIM) or {}
    nrps = body.get(NRPS_CLAIM) or {}
    name = _text(body.get("name"), 1000) or " ".join(
        p for p in (_text(body.get("given_name")), _text(body.get("family_name"))) if p) \
        or _text(body.get("email")) or str(body.get("sub"))
    scopes = ags.get("scope") if isinstance(ags, dict) else None
    sub = "" if body.get("sub") is None else str(body["sub"]).strip()[:255]
    if not sub:
        raise ValueError("the launch names no user (sub)")
    return Launch(
        platform=platform, sub=sub, name=name[:1000],
        email=_text(body.get("email")), staff=is_staff(body.get(CLAIM + "roles")),
        message_type=str(body.get(CLAIM + "message_type")),
        resource_link_id=_text(link.get("id")) if isinstance(link, dict) else None,
        link_title=_text(link.get("title"), 1000) if isinstance(link, dict) else None,
        context_id=_text(context.get("id")) if isinstance(context, dict) else None,
        context_title=_text(context.get("title"), 1000) if isinstance(context, dict) else None,
        assignment_name=_text(custom.get(ASSIGNMENT_PARAMETER))
        if isinstance(custom, dict) else None,
        lineitems_url=_text(ags.get("lineitems"), 2000) if isinstance(ags, dict) else None,
        lineitem_url=_text(ags.get("lineitem"), 2000) if isinstance(ags, dict) else None,
        ags_scopes=tuple(s for s in scopes if isinstance(s, str))
        if isinstance(scopes, list) else (),
        memberships_url=_text(nrps.get("context_memberships_url"), 2000)
        if isinstance(nrps, dict) else None,
        deep_linking=body.get("https://purl.imsglobal.org/spec/lti-dl/claim/"
                              "deep_linking_settings") or {},
        deployment_id=str(body.get(CLAIM + "deployment_id")))


@dataclass(frozen=True)
class Outcome:
    """Where a launch leads: a student session, an instructor session, or a page that
    says the link has no assignment yet."""

    kind: str  # student | instructor | unassigned
    token_id: int | None = None
    instructor_id: int | None = None
    assignment: policy.Assignment | None = None
    link_id: int | None = None


def enter(engine: Engine, launch: Launch) -> Outcome:
    """Record the launch (user, link, seat) and say where it leads, in one transaction."""
    # argon2 takes half a second: never while holding the database's write lock
    unusable = auth.hash_password(secrets.token_urlsafe(32)) if launch.staff else ""
    with db.writing(engine) as connection:
        link_id, assignment = _link(connection, launch)
        user_id, student, instructor = _user(connection, launch)
        if launch.staff:
            if instructor is None:
                instructor = _make_instructor(connection, launch, user_id, unusable)
            return Outcome("instructor", instructor_id=instructor, assignment=assignment,
                           link_id=link_id)
        if assignment is None or link_id is None:
            return Outcome("unassigned", link_id=link_id)
        return Outcome("student", token_id=_student_seat(connection, launch, user_id, student,
                                                         link_id, assignment.id),
                       assignment=assignment, link_id=link_id)


def enrol(connection: Connection, launch: Launch, link_id: int, assignment_id: int) -> int:
    """A learner of a link as the LMS names them (roster sync): their user, student,
    seat and token, made where missing. Returns the token's id."""
    user_id, student, _ = _user(connection, launch)
    return _student_seat(connection, launch, user_id, student, link_id, assignment_id)


def _student_seat(connection: Connection, launch: Launch, user_id: int, student: int | None,
                  link_id: int, assignment_id: int) -> int:
    if student is None:
        student = _make_student(connection, launch, user_id)
    _seat(connection, link_id, user_id)
    return _token(connection, student, assignment_id)


def _link(connection: Connection, launch: Launch) -> tuple[int | None, policy.Assignment | None]:
    named = courses.assignment_of(connection, launch.assignment_name) \
        if launch.assignment_name else None
    if launch.resource_link_id is None:
        return None, named
    where = (db.lti_links.c.platform_id == launch.platform.id) & \
        (db.lti_links.c.resource_link_id == launch.resource_link_id)
    values: dict[str, Any] = {
        "context_id": launch.context_id, "context_title": launch.context_title,
        "title": launch.link_title, "lineitems_url": launch.lineitems_url,
        "ags_scopes": json.dumps(list(launch.ags_scopes)),
        "memberships_url": launch.memberships_url, "updated_at": db.now()}
    if launch.lineitem_url:  # the platform's own line item for the link wins
        values["lineitem_url"] = launch.lineitem_url
    if named is not None:
        values["assignment_id"] = named.id
    row = connection.execute(select(db.lti_links.c.id, db.lti_links.c.assignment_id)
                             .where(where)).first()
    if row is None:
        link_id = int(connection.execute(db.lti_links.insert().values(
            platform_id=launch.platform.id, resource_link_id=launch.resource_link_id,
            **values)).inserted_primary_key[0])
        chosen = named.id if named is not None else None
    else:
        link_id = int(row.id)
        connection.execute(update(db.lti_links).where(db.lti_links.c.id == link_id)
                           .values(**values))
        chosen = named.id if named is not None else row.assignment_id
    return link_id, courses.assignment_by_id(connection, chosen) if chosen else None


def _user(connection: Connection, launch: Launch) -> tuple[int, int | None, int | None]:
    row = connection.execute(select(db.lti_users.c.id, db.lti_users.c.student_id,
                                    db.lti_users.c.instructor_id).where(
        db.lti_users.c.platform_id == launch.platform.id,
        db.lti_users.c.sub == launch.sub)).first()
    if row is not None:
        connection.execute(update(db.lti_users).where(db.lti_users.c.id == row.id)
                           .values(name=launch.name))
        return int(row.id), row.student_id, row.instructor_id
    user_id = int(connection.execute(db.lti_users.insert().values(
        platform_id=launch.platform.id, sub=launch.sub, name=launch.name,
        created_at=db.now())).inserted_primary_key[0])
    return user_id, None, None


def _free(connection: Connection, column: Any, wanted: str) -> str:
    """`wanted`, or `wanted-2`, `-3`… : the first value nobody has in `column`."""
    candidate, n = wanted, 1
    while connection.execute(select(column).where(column == candidate)).first():
        n += 1
        candidate = f"{wanted}-{n}"
    return candidate


def _make_student(connection: Connection, launch: Launch, user_id: int) -> int:
    """A new student; their id is from their email's local part (or name), never taken
    over from a roster student who happens to share it (a suffix makes it theirs)."""
    base = student_id((launch.email or "").partition("@")[0] or launch.name)
    sid = _free(connection, db.students.c.student, base)
    new = int(connection.execute(db.students.insert().values(
        student=sid, name=launch.name, created_at=db.now())).inserted_primary_key[0])
    connection.execute(update(db.lti_users).where(db.lti_users.c.id == user_id)
                       .values(student_id=new))
    return new


def _make_instructor(connection: Connection, launch: Launch, user_id: int,
                     password_hash: str) -> int:
    """An instructor who signs in only through the LMS: the hash of a random password
    nobody is shown (`grader serve instructor` can give them one)."""
    name = _free(connection, db.instructors.c.name, f"{launch.name} (LMS)"[:240])
    new = int(connection.execute(db.instructors.insert().values(
        name=name, password_hash=password_hash, created_at=db.now())).inserted_primary_key[0])
    connection.execute(update(db.lti_users).where(db.lti_users.c.id == user_id)
                       .values(instructor_id=new))
    return new


def _seat(connection: Connection, link_id: int, user_id: int) -> None:
    where = (db.lti_seats.c.link_id == link_id) & (db.lti_seats.c.user_id == user_id)
    if connection.execute(update(db.lti_seats).where(where).values(active=1)).rowcount == 0:
        connection.execute(db.lti_seats.insert().values(link_id=link_id, user_id=user_id,
                                                        active=1))


def _token(connection: Connection, student: int, assignment_id: int) -> int:
    """The student's live token for the assignment (made if they have none: a launch
    signed by their LMS is as good as a link their instructor mailed)."""
    found = connection.execute(select(db.tokens.c.id).where(
        db.tokens.c.student_id == student, db.tokens.c.assignment_id == assignment_id,
        db.tokens.c.revoked_at.is_(None)).order_by(db.tokens.c.id.desc())).scalar()
    if found is not None:
        return int(found)
    return int(connection.execute(db.tokens.insert().values(
        token_hash=auth.token_hash(auth.new_token()), student_id=student,
        assignment_id=assignment_id, created_at=db.now())).inserted_primary_key[0])


def assign_link(engine: Engine, link_id: int, assignment: str) -> policy.Assignment | None:
    """An instructor's choice of the assignment a link opens (a link the LMS made without
    deep linking)."""
    with db.writing(engine) as connection:
        chosen = courses.assignment_of(connection, assignment)
        if chosen is not None:
            connection.execute(update(db.lti_links).where(db.lti_links.c.id == link_id)
                               .values(assignment_id=chosen.id, updated_at=db.now()))
        return chosen
