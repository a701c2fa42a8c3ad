"""Avenants to the split or transfer of points of a validated convention (SPEC §6): the whole flow on the demo
partnership brought to validation, scope, the 1 June deadline, the stored PDF and stale saves."""

from __future__ import annotations

import hashlib

import pytest

from tests.integration.conftest import establishment_id, login, post_form, text
from tests.integration.test_conventions_workflow import (
    convention,
    convention_id,
    history_actions,
    switch,
)

pytestmark = pytest.mark.anyio


async def validated_partnership(client) -> int:
    """The demo partnership (signed, waiting for the Administration), validated by the Administration."""
    conv = await convention_id("partenariat")
    await login(client, "helene.fontaine")
    response = await post_form(client, f"/conventions/{conv}/validation-administration", {"confirme": "1"})
    assert response.status_code == 303
    assert (await convention(conv))["step"] == "prise_de_connaissance"
    return conv


async def avenants(conv: int) -> list[dict]:
    from portal.conventions.tables import Avenant

    return await Avenant.select().where(Avenant.convention == conv).order_by(Avenant.id)


async def split_form(year: str) -> dict:
    partners = [await establishment_id("99102"), await establishment_id("99103")]
    return {"annee": year, "repartition": "cle", "part-0": "60", f"part-{partners[0]}": "20",
            f"part-{partners[1]}": "20", "fonctionnement": "10", "motivation": "Nouvel équilibre entre écoles."}


def next_year() -> str:
    from portal.conventions import rules, services

    return rules.avenant_years(services.today())[0]


async def test_no_avenant_before_validation(client):
    conv = await convention_id("partenariat")
    await login(client, "claire.lambert")
    page = text(await client.get(f"/conventions/{conv}"))
    assert "Préparer un avenant" not in page
    refused = await post_form(client, f"/conventions/{conv}/avenants", await split_form(next_year()))
    assert refused.status_code == 400 and "convention validée" in text(refused)
    assert await avenants(conv) == []
    # a cooperation convention never has avenants
    coop = await convention_id("cooperation")
    from portal.conventions.tables import Convention

    await Convention.update({Convention.step: "terminee"}).where(Convention.id == coop)
    refused = await post_form(client, f"/conventions/{coop}/avenants", await split_form(next_year()))
    assert refused.status_code == 400 and "répartition" in text(refused)


async def test_whole_avenant_flow(client):
    conv = await validated_partnership(client)
    year = next_year()
    form = await split_form(year)
    # a partner school's direction reads the convention but cannot create an avenant
    await switch(client, "sophie.martin")
    assert "Préparer un avenant" not in text(await client.get(f"/conventions/{conv}"))
    refused = await post_form(client, f"/conventions/{conv}/avenants", form)
    assert refused.status_code == 403 and "avenants" in text(refused)
    assert await avenants(conv) == []
    # the coordinator creates the draft
    await switch(client, "claire.lambert")
    page = text(await client.get(f"/conventions/{conv}"))
    assert "Avenants" in page and "Préparer un avenant" in page
    bad = await post_form(client, f"/conventions/{conv}/avenants", {**form, "part-0": "50"})
    assert bad.status_code == 400 and "totalisent 90 %" in text(bad)
    wrong_year = await post_form(client, f"/conventions/{conv}/avenants", {**form, "annee": "2019-2020"})
    assert wrong_year.status_code == 400 and "année scolaire" in text(wrong_year)
    assert await avenants(conv) == []
    created = await post_form(client, f"/conventions/{conv}/avenants", form)
    assert created.status_code == 303
    [row] = await avenants(conv)
    assert row["status"] == "brouillon" and row["effective_year"] == year and row["version"] == 1
    assert '"mode": "cle"' in row["data"] and '"running": "10"' in row["data"]
    again = await post_form(client, f"/conventions/{conv}/avenants", form)
    assert again.status_code == 409 and "existe déjà" in text(again)
    assert len(await avenants(conv)) == 1
    page = text(await client.get(f"/conventions/{conv}"))
    assert "Brouillon" in page and f"Avenant prenant effet en {year}" in page
    # edits are version-checked
    saved = await post_form(client, f"/conventions/avenants/{row['id']}",
                            {**form, "fonctionnement": "15", "version": "1"})
    assert saved.status_code == 303
    stale = await post_form(client, f"/conventions/avenants/{row['id']}",
                            {**form, "fonctionnement": "5", "version": "1"})
    assert stale.status_code == 409 and "modifié par quelqu'un d'autre" in text(stale)
    [row] = await avenants(conv)
    assert row["version"] == 2 and '"running": "15"' in row["data"]
    # sent to the signatures: frozen
    stale_submit = await post_form(client, f"/conventions/avenants/{row['id']}/signatures", {"version": "1"})
    assert stale_submit.status_code == 409
    submitted = await post_form(client, f"/conventions/avenants/{row['id']}/signatures", {"version": "2"})
    assert submitted.status_code == 303
    [row] = await avenants(conv)
    assert row["status"] == "signatures"
    frozen = await post_form(client, f"/conventions/avenants/{row['id']}", {**form, "version": str(row["version"])})
    assert frozen.status_code == 409 and "n'est plus un brouillon" in text(frozen)
    # a délégué of an unconcerned PO cannot sign (the convention is not even visible to her)
    await switch(client, "ines.collard")
    assert (await post_form(client, f"/conventions/avenants/{row['id']}/signer", {"confirme": "1"})).status_code == 404
    # the délégués concerned sign
    await switch(client, "anne.lemaire")
    unchecked = await post_form(client, f"/conventions/avenants/{row['id']}/signer", {})
    assert unchecked.status_code == 400 and "Cochez la case" in text(unchecked)
    assert (await post_form(client, f"/conventions/avenants/{row['id']}/signer", {"confirme": "1"})).status_code == 303
    twice = await post_form(client, f"/conventions/avenants/{row['id']}/signer", {"confirme": "1"})
    assert twice.status_code in (403, 409)
    [row] = await avenants(conv)
    assert row["status"] == "signatures"
    # after 1 June of the year before, it can no longer be communicated: nothing changes
    from portal.conventions.tables import Avenant, AvenantSignature

    await Avenant.update({Avenant.effective_year: "2020-2021"}).where(Avenant.id == row["id"])
    await switch(client, "paul.gerard")
    late = await post_form(client, f"/conventions/avenants/{row['id']}/signer", {"confirme": "1"})
    assert late.status_code == 409 and "délai est dépassé" in text(late) and "01/06/2020" in text(late)
    assert await AvenantSignature.count().where(AvenantSignature.avenant == row["id"]) == 1
    await Avenant.update({Avenant.effective_year: year}).where(Avenant.id == row["id"])
    # the last signature communicates it: PDF/A stored once, served as stored
    assert (await post_form(client, f"/conventions/avenants/{row['id']}/signer", {"confirme": "1"})).status_code == 303
    [row] = await avenants(conv)
    assert row["status"] == "communique" and row["document"] and row["communicated_at"]
    first = await client.get(f"/conventions/avenants/{row['id']}/avenant.pdf")
    second = await client.get(f"/conventions/avenants/{row['id']}/avenant.pdf")
    assert first.status_code == 200 and first.content.startswith(b"%PDF")
    assert first.content == second.content
    from portal.documents.services import fetch

    stored = await fetch(row["document"])
    assert stored.sha256 == hashlib.sha256(first.content).hexdigest()
    # the Administration sees it on its dashboard and marks it « pris en compte »
    await switch(client, "helene.fontaine")
    dashboard = text(await client.get("/tableau-de-bord"))
    assert "Avenants communiqués" in dashboard and year in dashboard
    unconfirmed = await post_form(client, f"/conventions/avenants/{row['id']}/prise-en-compte", {})
    assert unconfirmed.status_code == 400
    taken = await post_form(client, f"/conventions/avenants/{row['id']}/prise-en-compte", {"confirme": "1"})
    assert taken.status_code == 303
    [row] = await avenants(conv)
    assert row["status"] == "pris_en_compte"
    assert "Aucun avenant n'attend" in text(await client.get("/tableau-de-bord"))
    assert (await client.get(f"/conventions/avenants/{row['id']}/avenant.pdf")).content == first.content
    actions = await history_actions(conv)
    for action in ("avenant_creation", "avenant_modification", "avenant_signatures", "avenant_signature",
                   "avenant_pris_en_compte"):
        assert action in actions


async def test_late_draft_cannot_be_sent_and_others_cannot_take(client):
    conv = await validated_partnership(client)
    await switch(client, "claire.lambert")
    assert (await post_form(client, f"/conventions/{conv}/avenants", await split_form(next_year()))).status_code == 303
    [row] = await avenants(conv)
    from portal.conventions.tables import Avenant

    await Avenant.update({Avenant.effective_year: "2021-2022"}).where(Avenant.id == row["id"])
    late = await post_form(client, f"/conventions/avenants/{row['id']}/signatures", {"version": "1"})
    assert late.status_code == 400 and "délai est dépassé" in text(late)
    assert (await avenants(conv))[0]["status"] == "brouillon"
    # not the coordinator's to take into account; the PDF does not exist yet
    assert (await post_form(client, f"/conventions/avenants/{row['id']}/prise-en-compte",
                            {"confirme": "1"})).status_code == 403
    assert (await client.get(f"/conventions/avenants/{row['id']}/avenant.pdf")).status_code == 409
    assert (await client.get("/conventions/avenants/999999/avenant.pdf")).status_code == 404


async def test_specific_partnership_avenant_changes_the_transfer_table(client):
    from portal.conventions.tables import Convention, StaffFunction

    conv = await convention_id("partenariat_specifique")
    # brought to the end of its workflow the way the full workflow would (tested elsewhere)
    await Convention.update({Convention.step: "terminee"}).where(Convention.id == conv)
    function = await StaffFunction.select().order_by(StaffFunction.id).first()
    await login(client, "claire.lambert")
    form = {"annee": next_year(), "motivation": "Un logopède de plus."}
    bad = await post_form(client, f"/conventions/{conv}/avenants", {**form, f"cell-{function['id']}-5/5": "abc"})
    assert bad.status_code == 400 and "nombre entier" in text(bad)
    assert await avenants(conv) == []
    ok = await post_form(client, f"/conventions/{conv}/avenants", {**form, f"cell-{function['id']}-5/5": "2"})
    assert ok.status_code == 303
    [row] = await avenants(conv)
    assert row["data"] == '{"lines": [{"count": 2, "fraction": "5/5", "function": %d}]}' % function["id"]
    page = text(await client.get(f"/conventions/{conv}"))
    assert "Total des points rétrocédés" in page and "Nouvelle rétrocession" in page
