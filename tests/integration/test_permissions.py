"""The permission table, walked over every route of the app with every profile.

Every route must say who may call it (public, signed in, or an action of the table). Then, for each profile, each
route guarded by an action answers 403 exactly when the table refuses that profile, and anonymous visitors are
sent to the login page.
"""

from __future__ import annotations

import re

import pytest
from litestar.routes import HTTPRoute

from portal.app import create_app
from portal.demo import DEMO_ACCOUNTS
from portal.permissions import PERMISSIONS, Profile, allowed
from tests.integration.conftest import csrf_token, login

pytestmark = pytest.mark.anyio

#: one demo account per profile (the first that holds it alone)
ACCOUNT_FOR = {}
for person in DEMO_ACCOUNTS:
    if len(person.affiliations) == 1:
        ACCOUNT_FOR.setdefault(person.affiliations[0][0], person.username)


def _guarded_routes():
    """(method, path, handler opt) for every route handler of the app."""
    app = create_app()
    result = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods):
                if method in {"HEAD", "OPTIONS"}:
                    continue
                result.append((method, route.path, handler.opt))
    return result


ROUTES = _guarded_routes()


def _concrete(path: str) -> str:
    """A path with every parameter replaced by a plausible value."""
    return re.sub(r"\{[^}:]+:(int|str|path)\}", lambda m: "1" if m.group(1) == "int" else "x", path)


def test_every_route_declares_its_access():
    undeclared = [(m, p) for m, p, opt in ROUTES
                  if not (opt.get("public") or opt.get("signed_in") or opt.get("permission"))]
    assert undeclared == [], f"routes sans règle d'accès : {undeclared}"


def test_every_named_action_is_in_the_table():
    unknown = {opt["permission"] for _m, _p, opt in ROUTES if opt.get("permission")} - set(PERMISSIONS)
    assert not unknown


def test_every_profile_has_a_demo_account():
    assert set(ACCOUNT_FOR) == set(Profile)


@pytest.mark.parametrize("profile", list(Profile), ids=lambda p: p.value)
async def test_profile_gets_403_exactly_where_the_table_refuses(client, profile):
    await login(client, ACCOUNT_FOR[profile])
    token = await csrf_token(client)
    mismatches = []
    for method, path, opt in ROUTES:
        action = opt.get("permission")
        if not action:
            continue
        url = _concrete(path)
        if method == "GET":
            response = await client.get(url)
        else:
            response = await client.request(method, url, data={"_csrf_token": token})
        refused = response.status_code == 403
        if refused == allowed(profile, action):
            mismatches.append((method, url, action, response.status_code))
    assert mismatches == [], f"{profile.value} : {mismatches}"


async def test_anonymous_is_sent_to_login_everywhere(client):
    token = await csrf_token(client)
    for method, path, opt in ROUTES:
        if opt.get("public"):
            continue
        url = _concrete(path)
        if method == "GET":
            response = await client.get(url)
            assert response.status_code == 303 and response.headers["location"].startswith("/login"), url
        else:
            response = await client.request(method, url, data={"_csrf_token": token})
            assert response.status_code == 401, (method, url, response.status_code)
