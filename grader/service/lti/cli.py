"""`grader serve lti …`: register the LMSs that launch this tool, and look after its keys.

    grader serve lti add-platform --dir D --issuer URL --client-id ID
                 --auth-login-url URL --auth-token-url URL --key-set-url URL
                 --deployment-id ID [--deployment-id ID …] [--name NAME]
    grader serve lti list --dir D        the platforms, and the tool's URLs to give them
    grader serve lti registration-url --dir D
                                         a one-time URL for dynamic registration
    grader serve lti rotate-key --dir D  a new signing key (the old one stays published
                                         for keys.GRACE_DAYS days)
    grader serve lti sync --dir D        roster sync of every link now (NRPS)

Parsers only import argparse (grader --help stays fast); handlers import the rest.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from grader.errors import EXIT_OK


def add_parsers(sub: Any, folder_flags: Any) -> None:
    lti = sub.add_parser("lti", help="LTI 1.3: launches from an LMS, grade passback, "
                         "roster sync (docs/lti.md)")
    lti_sub = lti.add_subparsers(dest="lti_command", required=True)
    add = lti_sub.add_parser("add-platform", help="register an LMS (or add deployments to "
                             "one), with the values its tool registration shows")
    folder_flags(add)
    add.add_argument("--issuer", required=True, help="the platform's issuer (iss), e.g. "
                     "https://moodle.example.edu")
    add.add_argument("--client-id", required=True, help="the client id the LMS gave the tool")
    add.add_argument("--auth-login-url", required=True, help="its OIDC authorization "
                     "endpoint (Moodle: …/mod/lti/auth.php)")
    add.add_argument("--auth-token-url", required=True, help="its OAuth2 token endpoint")
    add.add_argument("--key-set-url", required=True, help="its public key set (JWKS)")
    add.add_argument("--deployment-id", required=True, action="append",
                     help="a deployment id (repeat for several)")
    add.add_argument("--name", help="a name shown to instructors")
    add.set_defaults(handler=run_add_platform)
    listing = lti_sub.add_parser("list", help="the platforms and the tool's URLs")
    folder_flags(listing)
    listing.set_defaults(handler=run_list)
    rotate = lti_sub.add_parser("rotate-key", help="a new signing key for the tool")
    folder_flags(rotate)
    rotate.set_defaults(handler=run_rotate_key)
    url = lti_sub.add_parser("registration-url", help="a one-time URL for an LMS's "
                             "dynamic registration (valid 24 hours)")
    folder_flags(url)
    url.set_defaults(handler=run_registration_url)
    sync = lti_sub.add_parser("sync", help="roster sync of every LMS link now")
    folder_flags(sync)
    sync.set_defaults(handler=run_sync)


def _say(text: object) -> None:
    from grader.terminal import inert

    print(inert(text), flush=True)


@contextmanager
def _service(args: argparse.Namespace) -> Iterator[Any]:
    """(the folder, its database engine), the engine disposed of at the end."""
    from grader.service import courses

    folder, engine = courses.open_service(args.dir, args.db)
    try:
        yield folder, engine
    finally:
        engine.dispose()


def _urls(base_url: str) -> None:
    from grader.service.lti.routes import tool_urls

    urls = tool_urls(base_url)
    _say("the tool's URLs, for the LMS's registration form:")
    for label, key in (("Tool URL / redirect URI / launch", "launch_url"),
                       ("Initiate login URL", "login_url"), ("Public keyset URL", "jwks_url"),
                       ("Deep linking (content selection) URL", "deep_linking_url")):
        _say(f"  {label}: {urls[key]}")


def run_add_platform(args: argparse.Namespace) -> int:
    from grader.service.lti import platforms

    with _service(args) as (folder, engine):
        platform, new = platforms.add(engine, args.issuer, args.client_id,
                                      args.auth_login_url, args.auth_token_url,
                                      args.key_set_url, args.deployment_id, args.name)
    _say(f"{'registered' if new else 'updated'} platform {platform.issuer} (client id "
         f"{platform.client_id}; deployments: {', '.join(platform.deployments)})")
    _urls(folder.base_url)
    return EXIT_OK


def run_list(args: argparse.Namespace) -> int:
    from grader.service.lti import platforms

    with _service(args) as (folder, engine):
        found = platforms.all_platforms(engine)
    if not found:
        _say("no platform registered (grader serve lti add-platform)")
    for platform in found:
        _say(f"{platform.name or platform.issuer}: issuer {platform.issuer}, client id "
             f"{platform.client_id}, deployments {', '.join(platform.deployments)}")
    _urls(folder.base_url)
    return EXIT_OK


def run_rotate_key(args: argparse.Namespace) -> int:
    from grader.service.lti import keys

    with _service(args) as (_, engine):
        kid, retired = keys.rotate(engine)
    _say(f"new signing key {kid}; {len(retired)} older key(s) stay published for "
         f"{keys.GRACE_DAYS} days, then leave the key set")
    return EXIT_OK


def run_registration_url(args: argparse.Namespace) -> int:
    from grader.service.lti import registration

    with _service(args) as (folder, engine):
        url = registration.new_url(engine, folder.base_url)
    _say(f"paste this into the LMS's tool registration (dynamic registration); it works "
         f"once, for {registration.REGISTRATION_HOURS} hours:\n  {url}")
    return EXIT_OK


def run_sync(args: argparse.Namespace) -> int:
    from grader.service.lti import roster

    with _service(args) as (_, engine):
        done = roster.sync_all(engine)
    _say(f"{len(done)} link(s) synced: {sum(s.added for s in done)} student(s) added, "
         f"{sum(s.withdrawn for s in done)} withdrawn, {sum(s.kept for s in done)} kept")
    return EXIT_OK
