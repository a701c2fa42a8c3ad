"""The learner search (``/uaa/recherche``, CEPU guide §2.2–2.3, §2.7): criteria in the URL, filters, sorting,
paging, htmx fragment or full page, the establishment acted for only, a constant number of queries."""

from __future__ import annotations

import re
from datetime import date

import pytest

from portal.directory.tables import Establishment, Implantation
from portal.uaa.stamps import clear as clear_choices_cache
from portal.uaa.tables import Attempt, Attestation, Learner, Option
from tests.integration.conftest import login, post_form, queries_for, text

pytestmark = pytest.mark.anyio

CF = re.compile(r"<td>(\d{7}/\d{2})</td>")


@pytest.fixture(autouse=True)
async def no_learners(demo):
    """Start without learners (the demo's would blur the lists): the tests create their own."""
    await Attestation.delete(force=True)
    await Attempt.delete(force=True)
    await Learner.delete(force=True)


async def establishment(key: str) -> int:
    """The id of a demo establishment by FASE number, or the French lycée by its UAI."""
    condition = Establishment.uai == key if key.endswith("Z") else Establishment.fase == key
    return (await Establishment.select(Establishment.id).where(condition).first())["id"]


async def option(code: str) -> int:
    """The id of option ``code``, created when missing."""
    row = await Option.select(Option.id).where(Option.code == code).first()
    if row:
        return row["id"]
    return (await Option.insert(Option(code=code, label=f"Option {code} (test)")).returning(Option.id))[0]["id"]


async def add_learners(establishment_id: int, count: int, *, prefix: int = 10, start: int = 0,
                       school_year: str = "2026-2027", study_year: str = "1 D2 4 P", option_code: str = "2115",
                       implantation: int | None = None, last_name: str = "Élève") -> list[str]:
    """``count`` learners inserted in one statement; returns their N° CF. Birth dates go up with the number."""
    option_id = await option(option_code)
    rows = []
    for i in range(start, start + count):
        cf = f"{prefix:02d}{i:05d}/20"
        rows.append(Learner(establishment=establishment_id, implantation=implantation, option=option_id,
                            cf_number=cf, last_name=f"{last_name}{i:03d}", first_name=f"Prénom{(count - i):03d}",
                            sex="MFX"[i % 3], birth_date=date(2008, 1, 1).replace(day=1 + i % 28, month=1 + i % 12),
                            study_year=study_year, year=int(study_year.split()[2]), school_year=school_year))
    await Learner.insert(*rows)
    return [row.cf_number for row in rows]


def listed(response) -> list[str]:
    """The N° CF of the result table, in order."""
    return CF.findall(response.text)


async def test_a_teacher_searches_the_learners_of_their_establishment(client):
    itd = await establishment("99107")
    ours = await add_learners(itd, 3)
    await add_learners(await establishment("99101"), 2, prefix=11)
    await add_learners(await establishment("0219999Z"), 2, prefix=12)
    await login(client, "pierre.leroy")
    response = await client.get("/uaa/recherche")
    assert response.status_code == 200
    body = text(response)
    assert "Recherche élèves" in body and "Institut technique démo" in body and "ID FASE" in body and "99107" in body
    assert listed(response) == ours
    for header in ("Établissement", "Nom", "Prénom", "Sexe", "Date de naissance", "N° CF", "Année d'études", "OBG",
                   "Actions"):
        assert f">{header}" in body, header
    assert 'aria-sort="ascending"' in body and "Résultat(s) 1 à 3 sur 3 élève(s)" in body
    learner = await Learner.select(Learner.id).where(Learner.cf_number == ours[0]).first()
    assert f'href="/uaa/eleves/{learner["id"]}"' in body and "Voir les UAA" in body
    assert "<td>99107</td>" in body and "<td>01/01/2008</td>" in body and "1 D2 4 P" in body and ">2115<" in body
    for label in ("Année scolaire", "Implantation", "Année d'études", "Option de base groupée", "Toutes les OBG",
                  "Toutes les années", "Rechercher", "Réinitialiser"):
        assert label in body, label


@pytest.mark.parametrize("username, establishment_key", [
    ("julie.roux", "0219999Z"), ("pierre.leroy", "99107"), ("thomas.girard", "99107"), ("marc.dubois", "99101"),
])
async def test_nobody_sees_the_learners_of_another_establishment(client, username, establishment_key):
    by_school = {key: await add_learners(await establishment(key), 2, prefix=n)
                 for n, key in enumerate(("99107", "99101", "0219999Z"), start=20)}
    await login(client, username)
    seen = set()
    for url in ("/uaa/recherche", "/uaa/recherche?q=20", "/uaa/recherche?taille=100&tri=cf&ordre=desc",
                "/uaa/recherche?annee=2026-2027&obg=2115&etudes=1+D2+4+P"):
        seen |= set(listed(await client.get(url)))
    assert seen == set(by_school[establishment_key])


async def test_filters_by_school_year_implantation_year_of_study_option_and_text(client):
    itd = await establishment("99107")
    site = (await Implantation.select(Implantation.id).where(Implantation.fase == "991071").first())["id"]
    other_site = (await Implantation.insert(Implantation(establishment=itd, fase="991072", name="Site démo B"))
                  .returning(Implantation.id))[0]["id"]
    current = await add_learners(itd, 4, implantation=site)
    fifth = await add_learners(itd, 2, start=10, study_year="1 D3 5 P", implantation=other_site)
    other_option = await add_learners(itd, 1, start=20, option_code="7110")
    old = await add_learners(itd, 3, start=30, school_year="2025-2026")
    await add_learners(await establishment("99101"), 1, prefix=11, start=40, study_year="2 D3 6 TQ", option_code="8120")
    await login(client, "thomas.girard")

    page = await client.get("/uaa/recherche")
    body = text(page)
    # the latest school year is the default; the lists offer what the school has
    assert set(listed(page)) == set(current + fifth + other_option)
    assert '<option value="2026-2027" selected>' in body and '<option value="2025-2026"' in body
    assert "991072 — Site démo B" in body and ">1 D3 5 P</option>" in body and ">7110 - Option 7110 (test)</option>" in body
    # another school's values are not offered (looked for in the content: the layout's random CSRF token is hex)
    content = body[body.index("<main"):body.index("</main>")]
    assert "2 D3 6 TQ" not in content and "8120" not in content

    async def cfs(query: str) -> set[str]:
        response = await client.get("/uaa/recherche?" + query)
        assert response.status_code == 200
        return set(listed(response))

    assert await cfs("annee=2025-2026") == set(old)
    assert await cfs(f"implantation={site}") == set(current)
    assert await cfs(f"implantation={other_site}") == set(fifth)
    assert await cfs("etudes=1+D3+5+P") == set(fifth)
    assert await cfs("obg=7110") == set(other_option)
    assert await cfs("obg=2115&etudes=1+D2+4+P") == set(current)
    assert await cfs("q=élève012") == set()
    assert await cfs("q=%C3%A9l%C3%A8ve011") == {fifth[1]}
    assert await cfs("q=VE011") == await cfs("q=ve011") == {fifth[1]}  # ASCII: one condition, case ignored
    assert await cfs("q=prénom004") == {current[0]}  # first names count down
    assert await cfs(f"q={current[2]}") == {current[2]}  # N° CF
    assert await cfs("q=100%25") == set()  # % is taken literally
    # values that are not the school's are ignored rather than leaking or failing
    seat_site = (await Implantation.select(Implantation.id).where(Implantation.fase == "991011").first())["id"]
    assert await cfs(f"implantation={seat_site}") == set(current + fifth + other_option)
    assert await cfs("obg=8120&etudes=2+D3+6+TQ&annee=1999-2000") == set(current + fifth + other_option)
    for odd in ("implantation=abc", "page=-4", "taille=7", "tri=password", "ordre=x", "annee=%00", "q=" + "x" * 500):
        assert (await client.get("/uaa/recherche?" + odd)).status_code == 200, odd


async def test_sorting_by_column_headers(client):
    itd = await establishment("99107")
    cfs = await add_learners(itd, 6)
    await login(client, "pierre.leroy")
    ascending = listed(await client.get("/uaa/recherche"))
    assert ascending == cfs  # by name
    response = await client.get("/uaa/recherche?tri=nom&ordre=desc")
    assert listed(response) == cfs[::-1]
    body = text(response)
    assert re.search(r'<th scope="col" aria-sort="descending">\s*<a href="/uaa/recherche\?annee=2026-2027"', body)
    assert body.count("aria-sort=") == 1
    assert listed(await client.get("/uaa/recherche?tri=prenom")) == cfs[::-1]  # first names count down
    assert listed(await client.get("/uaa/recherche?tri=cf&ordre=desc")) == cfs[::-1]
    births = {cf: i for i, cf in enumerate(cfs)}
    by_birth = listed(await client.get("/uaa/recherche?tri=naissance"))
    assert by_birth == sorted(cfs, key=lambda cf: date(2008, 1 + births[cf] % 12, 1 + births[cf] % 28))
    sexes = listed(await client.get("/uaa/recherche?tri=sexe&ordre=desc"))
    assert [("MFX"[births[cf] % 3]) for cf in sexes] == ["X", "X", "M", "M", "F", "F"]
    # header links keep the criteria and flip the order of the sorted column
    body = text(await client.get("/uaa/recherche?tri=cf&q=%C3%89l%C3%A8ve"))
    assert 'href="/uaa/recherche?annee=2026-2027&amp;q=%C3%89l%C3%A8ve&amp;tri=cf&amp;ordre=desc"' in (
        await client.get("/uaa/recherche?tri=cf&q=%C3%89l%C3%A8ve")).text
    assert 'aria-sort="ascending"' in body


async def test_sorting_by_option_and_a_text_that_matches_nobody(client):
    """The option's code orders the rows (PostgreSQL sorts the page before it joins the rest), then the name; a
    text that matches nobody gives the empty result, not an error."""
    itd = await establishment("99107")
    later = await add_learners(itd, 3, start=0, option_code="7110")
    earlier = await add_learners(itd, 3, start=10, option_code="2115")
    await login(client, "pierre.leroy")
    assert listed(await client.get("/uaa/recherche?tri=obg")) == earlier + later
    assert listed(await client.get("/uaa/recherche?tri=obg&ordre=desc")) == (earlier + later)[::-1]
    assert listed(await client.get("/uaa/recherche?tri=obg&taille=25&page=1&q=%C3%89l%C3%A8ve01")) == earlier
    nobody = await client.get("/uaa/recherche?q=personne&page=3")
    assert nobody.status_code == 200 and listed(nobody) == []
    assert "Aucun élève ne correspond à ces critères." in text(nobody)


async def test_paging_25_50_100(client):
    itd = await establishment("99107")
    cfs = await add_learners(itd, 60)
    await login(client, "pierre.leroy")
    first = await client.get("/uaa/recherche")
    assert listed(first) == cfs[:25]
    body = text(first)
    assert "Résultat(s) 1 à 25 sur 60 élève(s) — page 1 / 3" in body
    assert 'href="/uaa/recherche?annee=2026-2027&page=2"' in body and "Page suivante" in body
    last = await client.get("/uaa/recherche?annee=2026-2027&page=3")
    assert listed(last) == cfs[50:] and "Résultat(s) 51 à 60 sur 60 élève(s)" in text(last)
    assert listed(await client.get("/uaa/recherche?page=99")) == cfs[50:]  # beyond the end: the last page
    fifty = await client.get("/uaa/recherche?taille=50&page=2")
    assert listed(fifty) == cfs[50:]
    assert 'href="/uaa/recherche?annee=2026-2027&taille=50&page=1"' in text(fifty)
    assert listed(await client.get("/uaa/recherche?taille=100")) == cfs
    sorted_pages = listed(await client.get("/uaa/recherche?tri=nom&ordre=desc&page=2"))
    assert sorted_pages == cfs[::-1][25:50]


async def test_htmx_gets_the_results_alone_and_history_gets_the_page(client):
    await add_learners(await establishment("99107"), 3)
    await login(client, "pierre.leroy")
    fragment = await client.get("/uaa/recherche?tri=cf", headers={"hx-request": "true"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="resultats"') and "<html" not in fragment.text
    assert len(listed(fragment)) == 3 and fragment.headers["vary"] == "HX-Request"
    assert 'name="tri" value="cf" form="recherche-eleves"' in fragment.text
    restore = await client.get("/uaa/recherche?tri=cf", headers={"hx-request": "true",
                                                                 "hx-history-restore-request": "true"})
    assert "<html" in restore.text and 'id="recherche-eleves"' in restore.text
    boosted = await client.get("/uaa/recherche", headers={"hx-request": "true", "hx-boosted": "true"})
    assert "<html" in boosted.text
    page = await client.get("/uaa/recherche")
    body = page.text
    assert 'method="get" action="/uaa/recherche"' in body and 'hx-push-url="true"' in body
    assert 'hx-target="#resultats"' in body


async def test_the_number_of_queries_does_not_grow_with_the_rows(client):
    itd = await establishment("99107")
    await add_learners(itd, 10)
    await login(client, "thomas.girard")
    url = "/uaa/recherche?taille=100&tri=obg"
    clear_choices_cache()
    small = await queries_for(client, url)
    await add_learners(itd, 50, start=10, study_year="1 D3 5 P", option_code="7110")
    response = await client.get(url)
    assert len(listed(response)) == 60
    clear_choices_cache()
    assert await queries_for(client, url) == small
    clear_choices_cache()
    assert await queries_for(client, url + "&q=%C3%A9l%C3%A8ve&etudes=1+D3+5+P") == small
    # the criteria lists, kept against the school's uaa_stamp, spare their two queries
    assert await queries_for(client, url) == small - 2


async def test_the_kept_criteria_lists_follow_learners_implantations_and_option_labels(client):
    itd = await establishment("99107")
    site = await Implantation.select(Implantation.id, Implantation.name).where(
        Implantation.establishment == itd).first()
    await add_learners(itd, 3)
    await login(client, "thomas.girard")
    first = text(await client.get("/uaa/recherche"))
    assert site["name"] in first and "2 D3 6 P" not in first
    await add_learners(itd, 2, start=3, study_year="2 D3 6 P")  # a learner of a new year of study
    assert "2 D3 6 P" in text(await client.get("/uaa/recherche"))
    await Implantation.update({Implantation.name: "Site renommé (test)"}).where(Implantation.id == site["id"])
    assert "Site renommé (test)" in text(await client.get("/uaa/recherche"))
    await Option.update({Option.label: "Libellé corrigé (test)"}).where(Option.code == "2115")
    assert "Libellé corrigé (test)" in text(await client.get("/uaa/recherche"))


async def test_someone_with_two_establishments_switches_with_the_fase_choice(client):
    itd = await establishment("99107")
    tilleuls = await establishment("99102")
    at_itd = await add_learners(itd, 2)
    at_tilleuls = await add_learners(tilleuls, 2, prefix=30)
    await login(client, "jf.bernard", choose=0)
    page = await client.get("/uaa/recherche")
    body = text(page)
    assert set(listed(page)) == set(at_itd)
    assert 'action="/choisir-profil"' in body and "99102 — École partenaire démo des Tilleuls (Direction)" in body
    ids = re.findall(r'<option value="(\d+)" *>99102', page.text)
    assert len(ids) == 1
    switched = await post_form(client, "/choisir-profil", {"affiliation": ids[0], "next": "/uaa/recherche"})
    assert switched.status_code == 303 and switched.headers["location"] == "/uaa/recherche"
    page = await client.get("/uaa/recherche")
    assert set(listed(page)) == set(at_tilleuls)
    assert "École partenaire démo des Tilleuls" in text(page) and "99102" in text(page)


async def test_a_single_establishment_shows_no_choice(client):
    await login(client, "pierre.leroy")
    body = text(await client.get("/uaa/recherche"))
    assert 'action="/choisir-profil"' not in body
    assert "Aucun élève ne correspond à ces critères." in body


@pytest.mark.parametrize("username", ["lucas.petit", "emma.garnier", "helene.fontaine", "claire.lambert",
                                      "nathalie.moreau"])
async def test_profiles_without_the_permission_get_403(client, username):
    await add_learners(await establishment("99107"), 2)
    await login(client, username)
    response = await client.get("/uaa/recherche")
    assert response.status_code == 403
    assert "20" not in "".join(listed(response))


async def test_anonymous_visitors_go_to_the_login_page(client):
    response = await client.get("/uaa/recherche?annee=2026-2027")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?suivant=/uaa/recherche%3Fannee%3D2026-2027"
