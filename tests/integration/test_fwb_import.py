"""``/annuaire/import``: the whole FWB directory, idempotence, refused uploads, and who may import."""

from __future__ import annotations

import csv
import gzip
import io

import pytest

from portal.directory.tables import Establishment, Implantation, OrganisingBody, Zone
from portal.history.tables import HistoryEvent
from portal.imports import fwb
from tests.integration.conftest import csrf_token, login, text

pytestmark = pytest.mark.anyio

URL = "/annuaire/import"
BASSINS = {"Brabant wallon", "Bruxelles", "Hainaut Centre", "Hainaut Sud", "Huy-Waremme", "Liège", "Luxembourg",
           "Namur", "Verviers", "Wallonie Picarde", "Hors zones"}
NBSP = "\u202f"  # thousands separator of the French number format


async def send(client, source: str, content: bytes | None = None, filename: str = "annuaire.csv"):
    """POST the import form as a browser does (multipart, with the CSRF field)."""
    token = await csrf_token(client)
    files = {"fichier": (filename, content or b"", "application/octet-stream")}
    return await client.post(URL, data={"_csrf_token": token, "source": source}, files=files)


async def snapshot() -> dict:
    """Every row of the directory tables."""
    return {
        "zones": await Zone.select().order_by(Zone.id),
        "bodies": await OrganisingBody.select().order_by(OrganisingBody.id),
        "establishments": await Establishment.select().order_by(Establishment.id),
        "implantations": await Implantation.select().order_by(Implantation.id),
    }


def sample(*lines: dict, delimiter: str = ",") -> bytes:
    """A small directory file: the real header, then ``lines`` (column name → value; others empty)."""
    header = gzip.decompress(fwb.DEFAULT_PATH.read_bytes()).decode("utf-8").split("\r\n", 1)[0]
    columns = next(csv.reader([header]))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(columns)
    for line in lines:
        writer.writerow([line.get(name, "") for name in columns])
    return out.getvalue().encode("utf-8")


def line(est: str, imp: str, po: str = "1136.0", name: str = "ECOLE TEST", bassin: str = "Namur") -> dict:
    return {
        "N° FASE de l'établissement": est, "Nom d'établissement": name, "Type d'enseignement": "Secondaire ordinaire",
        "Réseau": "Subventionné communal", "Localité de l'établissement": "NAMUR", "Bassin": bassin,
        "N° FASE de l'implantation": imp, "Adresse de l'implantation": "Rue de Fer 1",
        "Code postal de l'implantation": "5000", "Localité de l'implantation": "NAMUR", "N° FASE du PO": po,
        "Nom du PO": "Ville de Namur",
    }


async def test_whole_file_imports_and_a_second_run_changes_nothing(client):
    demo_before = await snapshot()
    await login(client, "helene.fontaine")
    page = await client.get(URL)
    assert page.status_code == 200 and "Importer le fichier de référence" in text(page)

    first = await send(client, "reference")
    body = text(first)
    assert first.status_code == 200, body
    assert "Import terminé" in body and f"2{NBSP}972" in body and f"1{NBSP}012" in body

    real_est = Establishment.demo == False  # noqa: E712
    assert await Establishment.count().where(real_est) == 2972
    demo_po = [row["fase"] for row in demo_before["bodies"]]
    demo_imp = [row["fase"] for row in demo_before["implantations"]]
    assert await OrganisingBody.count().where(OrganisingBody.fase.not_in(demo_po)) == 1012
    assert await Implantation.count().where(Implantation.fase.not_in(demo_imp)) == 5360
    zones = {row["name"] for row in await Zone.select(Zone.name).where(Zone.country == "BE")}
    assert BASSINS <= zones
    # FASE numbers written as floats are stored as integers; kinds come from the type of teaching
    first_school = await Establishment.objects().get(Establishment.fase == "10")
    assert first_school.name == 'Ecole primaire P9/10 "Carrefour"' and first_school.kind == "ordinaire"
    assert await Establishment.count().where(Establishment.kind == "spécialisé", real_est) == 232
    hors = await Zone.objects().get(Zone.name == "Hors zones")
    assert await Establishment.count().where(Establishment.zone == hors.id) == 2
    # the demo rows are untouched
    after = await snapshot()
    for key in ("zones", "bodies", "establishments", "implantations"):
        kept = {row["id"]: row for row in after[key]}
        assert all(kept[row["id"]] == row for row in demo_before[key]), key

    before = await snapshot()
    second = await send(client, "reference")
    body = text(second)
    assert second.status_code == 200
    assert "L'annuaire était déjà à jour" in body
    for kind in fwb.KINDS:
        assert f'data-kind="{kind}-created">0<' in second.text and f'data-kind="{kind}-updated">0<' in second.text
    assert await snapshot() == before
    events = await HistoryEvent.select().where(HistoryEvent.entity == "directory_import").order_by(HistoryEvent.id)
    assert len(events) == 2
    assert events[0]["actor_username"] == "helene.fontaine"
    assert "établissements 2972/0/0" in events[0]["summary"]
    assert "établissements 0/0/2972 ; implantations 0/0/5360" in events[1]["summary"]
    assert events[1]["after"] is not None


async def test_an_upload_updates_only_what_differs_and_never_deletes(client):
    await login(client, "helene.fontaine")
    response = await send(client, "envoi", sample(line("10.0", "21.0"), line("10.0", "22.0")))
    assert response.status_code == 200, text(response)
    school = await Establishment.objects().get(Establishment.fase == "10")
    assert await Implantation.count().where(Implantation.establishment == school.id) == 2

    renamed = gzip.compress(sample(line("10.0", "21.0", name="ECOLE RENOMMEE")))
    before = await snapshot()
    response = await send(client, "envoi", renamed, filename="annuaire.csv.gz")
    assert response.status_code == 200, text(response)
    assert 'data-kind="establishments-updated">1<' in response.text
    assert 'data-kind="implantations-updated">1<' in response.text  # its name follows the establishment's
    assert 'data-kind="organising_bodies-unchanged">1<' in response.text
    after = await snapshot()
    assert len(after["implantations"]) == len(before["implantations"])  # implantation 22 is not in the file: kept
    assert (await Establishment.objects().get(Establishment.fase == "10")).name == "ECOLE RENOMMEE"


async def test_a_malformed_upload_changes_nothing_and_names_its_faults(client):
    await login(client, "helene.fontaine")
    before = await snapshot()
    bad_fase = line("abc", "21.0")
    contradicting = line("10.0", "24.0", name="AUTRE NOM")
    content = sample(line("10.0", "21.0"), bad_fase, contradicting)
    content += b"12.0,COURTE\r\n"  # line 5: two columns only
    response = await send(client, "envoi", content)
    body = text(response)
    assert response.status_code == 400
    assert "Import refusé" in body and "Rien n'a été enregistré" in body
    assert "<td>3</td><td>numéro FASE de l'établissement invalide : « abc ».</td>" in body
    assert "<td>4</td><td>l'établissement 10 est décrit autrement à la ligne 2 (nom).</td>" in body
    assert "<td>5</td><td>2 colonne(s) au lieu de 28.</td>" in body
    assert await snapshot() == before
    assert not await HistoryEvent.exists().where(HistoryEvent.entity == "directory_import")


@pytest.mark.parametrize(("content", "message"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "n'est pas un fichier texte CSV"),
    (b"nom;prenom\r\nDupont;Jean\r\n", "Colonnes manquantes : « N° FASE de l'établissement »"),
    ("N° FASE de l'établissement\r\n".encode("cp1252"), "n'est pas encodé en UTF-8"),
    (b"\x1f\x8bnot really gzip", "compressé (gzip) est illisible"),
    (b"", "Choisissez le fichier à envoyer"),
])
async def test_an_upload_that_is_not_the_directory_is_refused(client, content, message):
    await login(client, "helene.fontaine")
    before = await snapshot()
    response = await send(client, "envoi", content, filename="annuaire.csv" if content else "")
    assert response.status_code == 400
    assert message in text(response)
    assert await snapshot() == before


async def test_demo_fase_numbers_are_never_overwritten(client):
    await login(client, "helene.fontaine")
    before = await snapshot()
    response = await send(client, "envoi", sample(line("99107.0", "21.0")))
    assert response.status_code == 400
    assert "le numéro FASE de l'établissement 99107 est réservé aux données de démonstration" in text(response)
    assert await snapshot() == before


async def test_an_upload_over_the_size_limit_is_refused(client):
    await login(client, "helene.fontaine")
    response = await send(client, "envoi", b"x" * (fwb.MAX_UPLOAD_BYTES + 1))
    assert response.status_code == 413
    assert "Le fichier dépasse 20 Mo" in text(response)


async def test_a_form_without_a_source_is_refused(client):
    await login(client, "helene.fontaine")
    token = await csrf_token(client)
    response = await client.post(URL, data={"_csrf_token": token})
    assert response.status_code == 400
    assert "Choisissez ce qu'il faut importer" in text(response)


@pytest.mark.parametrize("username", ["thomas.girard", "pierre.leroy", "marc.dubois", "anne.lemaire"])
async def test_only_the_administration_may_import(client, username):
    await login(client, username)
    assert (await client.get(URL)).status_code == 403
    before = await Establishment.count()
    assert (await send(client, "reference")).status_code == 403
    assert await Establishment.count() == before


async def test_a_pole_school_moved_to_another_po_takes_the_poles_conventions_along(client):
    """The instruments of a pole rest on its schools' PO. When the import moves a school to another PO they follow,
    in the import's transaction, and the pole page only reads them (it used to re-decide them on a GET)."""
    from portal.accounts.identity import AffiliationView, CurrentUser
    from portal.conventions import services
    from portal.conventions.tables import Convention
    from portal.directory.tables import Pole, PoleSchool
    from portal.permissions import Profile

    await login(client, "helene.fontaine")
    response = await send(client, "envoi", sample(line("10.0", "21.0"), line("11.0", "31.0"), line("12.0", "41.0")))
    assert response.status_code == 200, text(response)
    fase_ids = {r["fase"]: r["id"] for r in await Establishment.select(Establishment.id, Establishment.fase).where(
        Establishment.fase.is_in(["10", "11", "12"]))}
    pole = (await Pole.insert(Pole(name="Pôle de l'import", seat=fase_ids["10"])).returning(Pole.id))[0]["id"]
    coordinator = CurrentUser(account_id=1, session_id=1, username="test", first_name="T", last_name="Test",
                              email="", help_enabled=False, version=1,
                              active=AffiliationView(id=1, profile=Profile.COORDINATOR, pole_id=pole))
    await services.add_pole_school(coordinator, pole, str(fase_ids["11"]), "partenaire")

    async def kinds() -> dict[str, bool]:
        rows = await Convention.select(Convention.kind, Convention.active).where(Convention.pole == pole)
        return {r["kind"]: r["active"] for r in rows}

    assert await kinds() == {"ressort_partenariat": True}  # one PO: the seat's ressort takes the partner

    last = (await HistoryEvent.select(HistoryEvent.id).order_by(HistoryEvent.id, ascending=False).first())["id"]
    moved = await send(client, "envoi", sample(line("10.0", "21.0"), line("11.0", "31.0", po="2000.0"),
                                               line("12.0", "41.0")))
    assert moved.status_code == 200, text(moved)
    assert "les conventions de 1 pôle(s) ont été remises en accord" in text(moved)
    assert await kinds() == {"ressort_partenariat": False, "partenariat": True}
    recorded = await HistoryEvent.select(HistoryEvent.entity, HistoryEvent.action).where(HistoryEvent.id > last)
    assert {(r["entity"], r["action"]) for r in recorded} >= {("convention", "creation"),
                                                              ("convention", "remplacement")}

    # a school that changes nothing for any pole: the report says nothing of poles
    again = await send(client, "envoi", sample(line("12.0", "41.0", po="2000.0")))
    assert again.status_code == 200 and "pôle(s)" not in text(again)

    # a validated list does not follow a PO change: the report names it, and it keeps its schools
    partnership = (await Convention.select(Convention.id).where(
        (Convention.pole == pole) & (Convention.kind == "partenariat")).first())["id"]
    await services.validate_list(coordinator, partnership)
    back = await send(client, "envoi", sample(line("11.0", "31.0")))
    assert back.status_code == 200, text(back)
    assert "Pôle de l'import — Convention de partenariat" in text(back)
    assert "ne correspondent plus aux PO de leurs écoles" in text(back)
    assert (await kinds())["partenariat"] is True
    assert [s.establishment_id for s in (await services.convention_view(coordinator, partnership)).schools] == [
        fase_ids["11"]]
    # the pole page says so too, to whoever sees the convention
    assert [c.id for c in (await services.pole_page(coordinator, pole)).frozen] == [partnership]
    page = await client.get(f"/conventions/poles/{pole}")
    assert page.status_code == 200, text(page)
    assert "Ces conventions validées ne correspondent plus aux PO des écoles du pôle" in text(page)
    assert f'href="/conventions/{partnership}">Convention de partenariat</a>.' in page.text

    # the pole page reads only: a school put in the pole behind the portal's back changes no convention on a GET
    await PoleSchool.insert(PoleSchool(pole=pole, establishment=fase_ids["12"], role="cooperante", position=9))
    conventions, events = await Convention.count(), await HistoryEvent.count()
    page = await services.pole_page(coordinator, pole)
    assert "partenariat" in [c.kind for c in page.conventions]
    assert (await Convention.count(), await HistoryEvent.count()) == (conventions, events)
