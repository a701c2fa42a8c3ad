"""The learner CSV import (``/uaa/import``): all or nothing, pending attempts for the year's programme, re-import
that updates and keeps results, faults listed by line and column, scope and permissions."""

from __future__ import annotations

import json
from datetime import date

import pytest

from portal.directory.tables import Implantation
from portal.history.tables import HistoryEvent
from portal.uaa.tables import (
    Attempt,
    Attestation,
    Learner,
    Option,
    TrainingProfile,
    Uaa,
)
from tests.integration.conftest import csrf_token, login, text
from tests.integration.conftest import establishment_id as establishment

pytestmark = pytest.mark.anyio

HEADER = "nom;prenom;sexe;date_naissance;numero_cf;annee_etudes;option;implantation;annee_scolaire"



@pytest.fixture(autouse=True)
async def no_learners(demo):
    """Start without learners (the demo's would blur the counts): the tests create their own."""
    await Attestation.delete(force=True)
    await Attempt.delete(force=True)
    await Learner.delete(force=True)


async def make_option(code: str = "2115", years: dict[int, int] | None = None) -> dict[int, list[int]]:
    """Option ``code`` (created when the demo's reference data lacks it) with a test profile of ``years``
    (year → how many UAA); returns the ids of every UAA of the option, per year (the programme of each year)."""
    years = years or {4: 3, 5: 2}
    existing = await Option.select(Option.id).where(Option.code == code).first()
    if existing:
        option_id = existing["id"]
    else:
        option_id = (await Option.insert(Option(code=code, label=f"Option {code} (test)")).returning(Option.id))[0]["id"]
    profile = (await TrainingProfile.insert(TrainingProfile(option=option_id, code=f"T{code}", label="Profil test",
                                                            short_label="Profil test")).returning(TrainingProfile.id))
    position = 100
    for year, count in years.items():
        for i in range(count):
            position += 1
            await Uaa.insert(Uaa(profile=profile[0]["id"], code=f"9{year}{i}", label=f"UAA de test {year}.{i}",
                                 weeks=4, year=year, position=position))
    ids: dict[int, list[int]] = {}
    for row in await Uaa.select(Uaa.id, Uaa.year).where(Uaa.profile.option == option_id):
        ids.setdefault(row["year"], []).append(row["id"])
    return ids


async def upload(client, content: str | bytes, filename: str = "eleves.csv", htmx: bool = False):
    """POST a file to the import the way the browser's form does (multipart, with the CSRF field)."""
    token = await csrf_token(client)
    data = content.encode("utf-8") if isinstance(content, str) else content
    headers = {"hx-request": "true", "x-csrftoken": token} if htmx else {}
    return await client.post("/uaa/import", data={"_csrf_token": token}, files={"fichier": (filename, data, "text/csv")},
                             headers=headers)


def csv_lines(*lines: str) -> str:
    return "\n".join([HEADER, *lines]) + "\n"


ELODIE = "Dupont;Élodie;F;18/09/2010;8501293/19;1 D2 4 P;2115;991071;2026-2027"
LUCAS = "Martin;Lucas;M;2009-02-01;8501294/20;1 D3 5 P;2115;;2026-2027"
NINA = "Peeters;Nina;X;03/03/2008;8501295/21;1 D3 7 P;2115;;2026-2027"


async def learners_by_cf() -> dict[str, dict]:
    return {row["cf_number"]: row for row in await Learner.select()}


async def attempts_of(learner_id: int) -> list[dict]:
    return await Attempt.select().where(Attempt.learner == learner_id).order_by(Attempt.uaa, Attempt.sequence)


async def test_import_creates_learners_with_the_pending_attempts_of_their_year(client):
    uaa = await make_option()
    itd = await establishment("99107")
    await login(client, "thomas.girard")
    page = await client.get("/uaa/import")
    assert page.status_code == 200
    body = text(page)
    assert "Import des élèves" in body and "Institut technique démo" in body and 'type="file"' in body
    assert 'enctype="multipart/form-data"' in body and "annee_scolaire" in body

    response = await upload(client, csv_lines(ELODIE, LUCAS, NINA))
    assert response.status_code == 200, text(response)
    body = text(response)
    assert "Import terminé" in body and "Élèves créés : 3" in " ".join(body.replace("<strong>", "").replace(
        "</strong>", "").split())

    rows = await learners_by_cf()
    elodie, lucas, nina = rows["8501293/19"], rows["8501294/20"], rows["8501295/21"]
    implantation = await Implantation.select(Implantation.id).where(Implantation.fase == "991071").first()
    assert (elodie["last_name"], elodie["first_name"], elodie["sex"]) == ("Dupont", "Élodie", "F")
    assert str(elodie["birth_date"])[:10] == "2010-09-18"
    assert (elodie["study_year"], elodie["year"], elodie["school_year"]) == ("1 D2 4 P", 4, "2026-2027")
    assert elodie["establishment"] == itd and elodie["implantation"] == implantation["id"]
    assert lucas["implantation"] is None and lucas["year"] == 5 and nina["year"] == 7

    # one pending attempt per UAA of the option whose year is the learner's
    elodie_attempts = await attempts_of(elodie["id"])
    assert sorted(a["uaa"] for a in elodie_attempts) == sorted(uaa[4])
    assert all((a["status"], a["sequence"], a["establishment"], a["presented_on"]) == ("a_encoder", 1, itd, None)
               for a in elodie_attempts)
    assert sorted(a["uaa"] for a in await attempts_of(lucas["id"])) == sorted(uaa[5])
    assert await attempts_of(nina["id"]) == []  # no UAA of 7th year in this option
    expected_attempts = len(uaa[4]) + len(uaa[5])

    events = await HistoryEvent.select().where(HistoryEvent.entity == "learner")
    assert len(events) == 1 and events[0]["action"] == "import" and events[0]["establishment_id"] == itd
    after = events[0]["after"] if isinstance(events[0]["after"], dict) else json.loads(events[0]["after"])
    assert (after["crees"], after["mis_a_jour"], after["inchanges"], after["presentations_creees"]) == (
        3, 0, 0, expected_attempts)
    assert "3 créé(s)" in events[0]["summary"]


async def test_reimport_updates_learners_and_keeps_their_attempts(client):
    uaa = await make_option()
    await login(client, "thomas.girard")
    assert (await upload(client, csv_lines(ELODIE, LUCAS))).status_code == 200
    rows = await learners_by_cf()
    elodie = rows["8501293/19"]
    # Élodie failed her first UAA: the attempt is encoded, a new pending row follows it
    first = (await attempts_of(elodie["id"]))[0]
    await Attempt.update({Attempt.status: "echec", Attempt.presented_on: date(2026, 10, 5)}).where(
        Attempt.id == first["id"])
    await Attempt.insert(Attempt(learner=elodie["id"], uaa=first["uaa"], sequence=2, status="a_encoder",
                                 establishment=elodie["establishment"]))
    before = {a["id"]: a for a in await Attempt.select()}

    renamed = ELODIE.replace("Dupont;Élodie", "Dupont-Leroy;Élodie").replace(";991071;", ";;")
    new = "Janssens;Tom;M;12/12/2009;8501296/22;1 D2 4 P;2115;;2026-2027"
    response = await upload(client, csv_lines(renamed, LUCAS, new), htmx=True)
    assert response.status_code == 200
    body = " ".join(text(response).replace("<strong>", "").replace("</strong>", "").split())
    assert body.startswith('<div id="rapport-import"'), body[:80]  # htmx gets the report alone
    assert "Élèves créés : 1" in body and "Élèves mis à jour : 1" in body and "Élèves inchangés : 1" in body

    rows = await learners_by_cf()
    assert rows["8501293/19"]["id"] == elodie["id"]
    assert rows["8501293/19"]["last_name"] == "Dupont-Leroy" and rows["8501293/19"]["implantation"] is None
    assert rows["8501293/19"]["version"] == elodie["version"] + 1
    assert rows["8501294/20"]["version"] == 1
    after = {a["id"]: a for a in await Attempt.select()}
    # every earlier attempt is still there, unchanged (the Echec too); only Tom's pending rows are new
    assert all(after[i] == attempt for i, attempt in before.items())
    assert after[first["id"]]["status"] == "echec"
    added = [a for i, a in after.items() if i not in before]
    assert sorted(a["uaa"] for a in added) == sorted(uaa[4]) and {a["learner"] for a in added} == {
        rows["8501296/22"]["id"]}


async def test_a_change_of_year_adds_the_new_programme_and_keeps_the_old_attempts(client):
    uaa = await make_option()
    await login(client, "thomas.girard")
    await upload(client, csv_lines(ELODIE))
    elodie = (await learners_by_cf())["8501293/19"]
    kept = await attempts_of(elodie["id"])
    response = await upload(client, csv_lines(ELODIE.replace("1 D2 4 P", "1 D3 5 P").replace("2026-2027", "2027-2028")))
    assert response.status_code == 200
    attempts = await attempts_of(elodie["id"])
    assert sorted(a["uaa"] for a in attempts) == sorted(uaa[4] + uaa[5])
    assert [a for a in attempts if a["uaa"] in uaa[4]] == kept
    # the same file again changes nothing
    again = await upload(client, csv_lines(ELODIE.replace("1 D2 4 P", "1 D3 5 P").replace("2026-2027", "2027-2028")))
    assert "Élèves inchangés : 1" in " ".join(text(again).replace("<strong>", "").replace("</strong>", "").split())
    assert len(await attempts_of(elodie["id"])) == len(attempts)


async def test_a_faulty_file_changes_nothing_and_lists_every_fault(client):
    await make_option()
    await login(client, "thomas.girard")
    await upload(client, csv_lines(LUCAS))
    before_learners = await Learner.select()
    before_attempts = await Attempt.count()
    before_events = await HistoryEvent.count()
    faulty = csv_lines(
        ELODIE,
        "Durand;Léa;H;31/02/2010;8501297/19;1 D2 4 P;2115;;2026-2027",
        LUCAS.replace("Martin", "Martin-Changé"),
        "Lambert;;F;18/09/2010;85012;1 D2 4 P;9999;12345;2026-2028",
    )
    response = await upload(client, faulty, filename="eleves-2026.csv")
    assert response.status_code == 400
    body = text(response)
    assert "Rien n'a été importé." in body and "eleves-2026.csv" in body
    for expected in (
        "Ligne 3, colonne sexe : « H » n'est pas accepté : indiquez M, F ou X.",
        "Ligne 3, colonne date_naissance : la date « 31/02/2010 » n'existe pas.",
        "Ligne 5, colonne prenom : le prénom est vide.",
        "Ligne 5, colonne numero_cf : « 85012 » n'est pas un N° CF",
        "Ligne 5, colonne option : l'option « 9999 » n'existe pas",
        "Ligne 5, colonne implantation : « 12345 » n'est le numéro FASE d'aucune implantation",
        "Ligne 5, colonne annee_scolaire : « 2026-2028 » : les deux années doivent se suivre",
    ):
        assert expected in body, expected
    assert await Learner.select() == before_learners
    assert await Attempt.count() == before_attempts
    assert await HistoryEvent.count() == before_events


async def test_files_that_are_not_a_learner_csv_are_refused(client):
    await make_option()
    await login(client, "thomas.girard")
    cases = [
        (b"%PDF-1.7\x00\x01binary", "n'est pas un fichier texte CSV"),
        (b"", "Le fichier est vide."),
        ("nom,prenom\nDupont,Élodie\n".encode(), "colonne(s) manquante(s)"),
        (("x" * 100 + "\n") * (5 * 1024 * 1024 // 100 + 10), "dépasse 5 Mo"),
    ]
    for content, expected in cases:
        response = await upload(client, content)
        assert response.status_code == 400, expected
        assert expected in text(response), expected
    no_file = await client.post("/uaa/import", data={"_csrf_token": await csrf_token(client)})
    assert no_file.status_code == 400 and "Choisissez le fichier CSV" in text(no_file)
    none_chosen = await client.post("/uaa/import", data={"_csrf_token": await csrf_token(client)},
                                    files={"fichier": ("", b"", "application/octet-stream")})
    assert none_chosen.status_code == 400 and "Choisissez le fichier CSV" in text(none_chosen)
    assert await Learner.count() == 0


async def test_windows_1252_and_comma_separated_files_are_read(client):
    await make_option()
    await login(client, "thomas.girard")
    content = (HEADER.replace(";", ",") + "\r\n" + ELODIE.replace(";", ",").replace("Élodie", "Zoé") + "\r\n")
    response = await upload(client, content.encode("cp1252"))
    assert response.status_code == 200, text(response)
    assert (await learners_by_cf())["8501293/19"]["first_name"] == "Zoé"


async def test_a_cf_number_of_another_establishment_is_a_fault(client):
    await make_option()
    await login(client, "sophie.martin")  # direction of another school imports Élodie first
    assert (await upload(client, csv_lines(ELODIE.replace("991071", "")))).status_code == 200
    theirs = (await learners_by_cf())["8501293/19"]
    await login(client, "thomas.girard")
    response = await upload(client, csv_lines(LUCAS, ELODIE))
    assert response.status_code == 400
    assert ("Ligne 3, colonne numero_cf : le N° CF 8501293/19 appartient à un élève d'un autre établissement"
            in text(response))
    after = await learners_by_cf()
    assert after["8501293/19"] == theirs and "8501294/20" not in after  # all or nothing


async def test_implantations_of_another_establishment_are_refused(client):
    await make_option()
    await login(client, "thomas.girard")
    response = await upload(client, csv_lines(ELODIE.replace("991071", "991011")))  # the seat school's
    assert response.status_code == 400
    assert "Ligne 2, colonne implantation : « 991011 » n'est le numéro FASE d'aucune implantation" in text(response)


@pytest.mark.parametrize("username", ["pierre.leroy", "lucas.petit", "helene.fontaine", "julie.roux"])
async def test_profiles_without_the_permission_get_403(client, username):
    await make_option()
    await login(client, username)
    assert (await client.get("/uaa/import")).status_code == 403
    response = await upload(client, csv_lines(ELODIE))
    assert response.status_code == 403
    assert await Learner.count() == 0


async def test_the_import_needs_the_csrf_token(client):
    await make_option()
    await login(client, "thomas.girard")
    response = await client.post("/uaa/import", files={"fichier": ("eleves.csv", csv_lines(ELODIE).encode(), "text/csv")})
    assert response.status_code == 403
    assert await Learner.count() == 0
