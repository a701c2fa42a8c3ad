"""The dashboards' board blocks, kept per process against ``board_stamp``: every table they read moves the stamp,
a warm dashboard makes no query beyond the session's, and a change by anyone shows on the next view."""

from __future__ import annotations

import importlib
import re
from contextvars import ContextVar

import pytest
from piccolo.engine import engine_finder

from portal.accounts.tables import AccessRequest
from portal.conventions.tables import Convention
from portal.core import db
from portal.core.clock import now
from portal.dashboards import services
from portal.directory.tables import Establishment, Pole, PoleSchool
from portal.messaging.tables import OutboxMail
from tests.integration.conftest import login, queries_for, text

pytestmark = pytest.mark.anyio

WATCHED = importlib.import_module("migrations.dashboards.dashboards_2026_11_24t00_30_00_000000").WATCHED

#: one account per profile whose dashboard has board blocks
BOARD_ACCOUNTS = ["claire.lambert", "marc.dubois", "sophie.martin", "luc.renard", "anne.lemaire", "paul.gerard",
                  "ines.collard", "helene.fontaine", "thomas.girard"]

_inside_board = ContextVar("inside_board", default=False)
_TABLE = re.compile(r'\b(?:FROM|JOIN)\s+"?([a-z_]+)"?', re.IGNORECASE)


@pytest.fixture
def board_sql(monkeypatch):
    """The SQL statements run while the board blocks are computed (Piccolo's queries and prebuilt ones)."""
    statements: list[str] = []
    engine_class = type(engine_finder())  # the PostgreSQL engine's instances take no new attribute
    run = engine_class.run_querystring

    async def recording(engine, querystring, *args, **kwargs):
        if _inside_board.get():
            statements.append(str(querystring))
        return await run(engine, querystring, *args, **kwargs)

    compute = services.board_blocks

    async def flagged(user):
        token = _inside_board.set(True)
        try:
            return await compute(user)
        finally:
            _inside_board.reset(token)

    compile_template = db._compile

    def recording_template(template, *args):  # the prebuilt statements of portal.core.db.query
        if _inside_board.get():
            statements.append(template)
        return compile_template(template, *args)

    monkeypatch.setattr(engine_class, "run_querystring", recording)
    monkeypatch.setattr(db, "_compile", recording_template)
    monkeypatch.setattr(services, "board_blocks", flagged)
    return statements


async def _triggers() -> set[str]:
    """The tables carrying a board_stamp trigger."""
    engine = engine_finder()
    if engine.engine_type == "postgres":
        rows = await engine.run_ddl("SELECT DISTINCT event_object_table AS t FROM information_schema.triggers "
                                    "WHERE trigger_name = 'board_stamp'")
    else:
        rows = await engine.run_ddl("SELECT DISTINCT tbl_name AS t FROM sqlite_master WHERE type = 'trigger' "
                                    "AND name LIKE 'board_stamp_%'")
    return {row["t"] for row in rows}


async def _stamp() -> int:
    rows = await engine_finder().run_ddl("SELECT version FROM board_stamp WHERE id = 1")
    return rows[0]["version"]


@pytest.mark.parametrize("username", BOARD_ACCOUNTS)
async def test_every_table_the_board_reads_moves_the_stamp(client, board_sql, username):
    await login(client, username)
    services.clear_caches()
    assert (await client.get("/tableau-de-bord")).status_code == 200
    assert board_sql, "the board blocks ran no query"
    read = {table for sql in board_sql for table in _TABLE.findall(sql)}
    assert read <= set(WATCHED), f"read but not watched: {read - set(WATCHED)}"
    assert set(WATCHED) <= await _triggers()


@pytest.mark.parametrize("username", BOARD_ACCOUNTS)
async def test_a_warm_dashboard_runs_only_the_session_query(client, username):
    await login(client, username)
    await client.get("/tableau-de-bord")
    assert await queries_for(client, "/tableau-de-bord") == 1


async def test_a_write_to_a_watched_table_moves_the_stamp_whoever_writes():
    before = await _stamp()
    school = await Establishment.objects().first()
    await Establishment.update({Establishment.name: school.name + " (renommée)"}).where(
        Establishment.id == school.id)
    assert await _stamp() > before


async def test_the_school_admin_sees_a_new_mail_and_access_request_at_once(client):
    await login(client, "thomas.girard")
    first = text(await client.get("/tableau-de-bord"))
    school = await Establishment.objects().get(Establishment.name.ilike("Institut technique démo%"))
    await OutboxMail.insert(OutboxMail(recipient="x@example.org", subject="Essai", body="x", created_at=now(),
                                       establishment=school.id))
    await AccessRequest.insert(AccessRequest(
        first_name="Nouvel", last_name="Élève", email="n@example.org", profile="apprenant",
        establishment=school.id, status="pending", created_at=now()))
    second = text(await client.get("/tableau-de-bord"))
    assert _pending(second) == _pending(first) + 1
    assert _mails(second) == _mails(first) + 1


async def test_the_coordinator_sees_a_renamed_school_and_a_moved_convention_at_once(client):
    await login(client, "claire.lambert")
    await client.get("/tableau-de-bord")
    pole = await Pole.objects().get(Pole.name.ilike("%Mosane%"))
    link = await PoleSchool.objects().where(PoleSchool.pole == pole.id).first()
    await Establishment.update({Establishment.name: "École rebaptisée (démo)"}).where(
        Establishment.id == link.establishment)
    assert "École rebaptisée (démo)" in text(await client.get("/tableau-de-bord"))
    convention = await Convention.objects().where(Convention.pole == pole.id).first()
    await Convention.update({Convention.active: False}).where(Convention.id == convention.id)
    page = text(await client.get("/tableau-de-bord"))
    await Convention.update({Convention.active: True}).where(Convention.id == convention.id)
    assert page != text(await client.get("/tableau-de-bord"))


def _pending(page: str) -> int:
    """The number of access requests waiting, as the dashboard states it."""
    return int(re.search(r"(\d+)(?:</strong>)? demande\(s\) en attente", page).group(1))


def _mails(page: str) -> int:
    """The number of mails sent for the school, as the school administrator's dashboard states it."""
    return int(re.search(r"Courriels envoyés \((\d+)\)", page).group(1))
