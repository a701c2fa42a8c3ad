"""Integration tests: HTTP through Litestar's test client against a migrated database.

``PORTAL_TEST_ENGINE=sqlite`` (default) or ``postgres`` picks the engine; a PostgreSQL run creates its own
database and drops it at the end. Every test starts from the demo data set.
"""

from __future__ import annotations

import asyncio
import html
import os
import re

import pytest

from tests import dbsetup

ENGINE = os.environ.get("PORTAL_TEST_ENGINE", "sqlite")
_DB = dbsetup.prepare_environment(ENGINE)

from litestar.testing import AsyncTestClient  # noqa: E402

from portal.demo import DEMO_PASSWORD, load_demo  # noqa: E402


def pytest_report_header(config):
    """Say which engine this run uses."""
    where = _DB.get("database", _DB["data_dir"])
    return f"portal database engine: {'PostgreSQL' if ENGINE == 'postgres' else 'SQLite'} ({where})"


def pytest_sessionstart(session):
    """Apply the migrations once."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from portal.core.db import prepare_sqlite_file

    prepare_sqlite_file()
    result = asyncio.run(run_forwards(app_name="all", migration_id="all"))
    assert result.success, result.message


def pytest_sessionfinish(session, exitstatus):
    """Drop the throwaway database."""
    dbsetup.drop(_DB)


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
async def demo():
    """A database holding exactly the demo data."""
    await dbsetup.reset_tables()
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
