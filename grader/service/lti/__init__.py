"""LTI 1.3 / LTI Advantage: the service as a tool an LMS (Moodle, Canvas, ...) launches.

    platforms.py  the LMSs registered with the service (`grader serve lti add-platform`)
    keys.py       the tool's own key pairs and its JWKS; rotation
    adapter.py    pylti1p3 (the tool-side library) on FastAPI and this database
    launch.py     a validated launch → a student or instructor session here
    routes.py     /lti/login, /lti/launch, /lti/jwks, deep linking
    owed.py       what a recorded grading owes an LMS (a row of the outbox)
    outbox.py     grade passback (AGS): the outbox of scores and its sender
    roster.py     roster sync (NRPS): withdrawn students lose their seat
    registration.py  dynamic registration (one pasted URL instead of six fields)
    cli.py        `grader serve lti add-platform|list|registration-url|rotate-key|sync`

docs/lti.md is the instructor's guide and says what pylti1p3 does and what is ours.
"""
