"""Integration tests: HTTP through Litestar's test client against a migrated database.

``PORTAL_TEST_ENGINE=sqlite`` (default) or ``postgres`` picks the engine; a PostgreSQL run creates its own
database and drops it at the end. Every test starts from the demo data set.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import io
import re

import pytest
from litestar.testing import AsyncTestClient

from portal.demo import DEMO_PASSWORD, load_demo
from tests import dbsetup


@pytest.fixture(scope="session", autouse=True)
def migrated_database():
    """Apply the migrations once per run (a fixture, so it also runs when pytest starts from ``tests/``)."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from portal.core.db import prepare_sqlite_file

    prepare_sqlite_file()
    with contextlib.redirect_stdout(io.StringIO()):
        result = asyncio.run(run_forwards(app_name="all", migration_id="all"))
    assert result.success, result.message


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
async def demo():
    """A database holding exactly the demo data."""
    from portal.dashboards.services import clear_caches

    await dbsetup.reset_tables()
    clear_caches()
    await load_demo()


@pytest.fixture
async def client(demo):
    """An HTTP client on a fresh app over the demo data."""
    from portal.app import create_app

    async with AsyncTestClient(app=create_app(), base_url="http://testserver.local") as test_client:
        test_client.follow_redirects = False
        yield test_client


def text(response) -> str:
    """The body of a response with HTML entities decoded (apostrophes are escaped by Jinja)."""
    return html.unescape(response.text)


CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


async def csrf_token(client) -> str:
    """The CSRF token of the client's cookie (set on the first GET)."""
    token = client.cookies.get("portal_csrf")
    if not token:
        await client.get("/login")
        token = client.cookies.get("portal_csrf")
    return token


async def post_form(client, url: str, data: dict | None = None, **kwargs):
    """POST a form the way a browser does, with the hidden CSRF field."""
    token = await csrf_token(client)
    return await client.post(url, data={"_csrf_token": token, **(data or {})}, **kwargs)


async def login(client, username: str, password: str = DEMO_PASSWORD, choose: int | None = None):
    """Sign in; with several affiliations, ``choose`` picks the n-th (0-based) in the chooser."""
    response = await post_form(client, "/login", {"username": username, "password": password, "next": "/"})
    assert response.status_code == 303, response.text
    if choose is not None:
        page = await client.get("/choisir-profil")
        ids = re.findall(r'name="affiliation" id="aff-(\d+)"', page.text)
        response = await post_form(client, "/choisir-profil", {"affiliation": ids[choose], "next": "/"})
        assert response.status_code == 303
    return response


async def queries_for(client, url: str) -> int:
    """How many SQL statements one GET of ``url`` runs (asserting it succeeds), by Piccolo's query counter."""
    from piccolo.engine import engine_finder

    engine = engine_finder()
    before = engine.query_id
    response = await client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return engine.query_id - before


async def establishment_id(fase: str) -> int:
    """The id of the (demo) establishment with this FASE number."""
    from portal.directory.tables import Establishment

    return (await Establishment.select(Establishment.id).where(Establishment.fase == fase).first())["id"]
