"""The frameworks page: teachers read the versions and trees; the DDFTP loads a file, a malformed one is refused
with its faults named, a new version is added beside the old one."""

from __future__ import annotations

import pytest

from portal.competencies import frameworks
from portal.competencies.tables import Framework
from tests.integration.conftest import csrf_token, login, text

pytestmark = pytest.mark.anyio


async def _upload(client, name: str, content: bytes):
    token = await csrf_token(client)
    return await client.post("/competences/referentiels", data={"_csrf_token": token},
                             files={"fichier": (name, content, "text/plain")})


async def test_teacher_reads_frameworks_but_cannot_load(client):
    await login(client, "julie.roux")
    page = await client.get("/competences/referentiels")
    assert page.status_code == 200 and "BACPRO-MELEC" in text(page) and "Charger un référentiel" not in text(page)
    framework = await Framework.select(Framework.id).first()
    tree = text(await client.get(f"/competences/referentiels/{framework['id']}"))
    assert "T5-3" in tree and "Panne intermittente" in tree
    refused = await _upload(client, "x.toml", b"format = 1")
    assert refused.status_code == 403


async def test_ddftp_loads_a_new_version_and_sees_faults_named(client):
    await login(client, "nathalie.moreau")
    bad = await _upload(client, "melec.toml", frameworks.DEMO_FILE.read_bytes().replace(b'code = "T2-2"',
                                                                                         b'code = "T2-1"'))
    assert bad.status_code == 400
    assert "melec.toml, nodes[1].children[1].code : « T2-1 » est déjà le code" in text(bad)
    same = await _upload(client, "melec.toml", frameworks.DEMO_FILE.read_bytes())
    assert same.status_code == 303 and "charge=0" in same.headers["location"]
    changed = frameworks.DEMO_FILE.read_bytes().replace(b"Organiser le poste", b"Organiser le chantier")
    conflict = await _upload(client, "melec.toml", changed)
    assert conflict.status_code == 409 and "nouveau numéro de version" in text(conflict)
    new = await _upload(client, "melec.toml", changed.replace(b'version = "2026.1"', b'version = "2027.1"'))
    assert new.status_code == 303 and "charge=1" in new.headers["location"]
    assert await Framework.count() == 2
    listing = text(await client.get("/competences/referentiels?charge=1"))
    assert "Le référentiel a été chargé." in listing and "2027.1" in listing
