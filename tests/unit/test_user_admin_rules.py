"""Pure rules of the user management: list criteria, paging, validation of a person, CSV, bulk selections."""

from __future__ import annotations

import pytest

from portal.accounts.admin_services import (
    ESTABLISHMENT_PROFILES,
    AccountRow,
    AdminError,
    Criteria,
    csv_bytes,
    page_count,
    parse_criteria,
    parse_ids,
    parse_page,
    parse_version,
    person_problems,
)
from portal.permissions import Profile


def test_page_numbers_are_read_leniently():
    assert parse_page(None) == 1 and parse_page("") == 1 and parse_page("abc") == 1
    assert parse_page("0") == 1 and parse_page("-2") == 1 and parse_page("3") == 3
    assert parse_page("99999999999") == 1


def test_page_count_has_at_least_one_page():
    assert page_count(0) == 1 and page_count(50) == 1 and page_count(51) == 2 and page_count(101, 50) == 3


def test_criteria_ignore_unknown_profiles_and_cut_long_text():
    criteria = parse_criteria("  lucas   petit ", "administration", "1", "2", ESTABLISHMENT_PROFILES)
    assert criteria == Criteria(q="lucas petit", profile="", show_hidden=True, page=2)
    assert parse_criteria("x" * 300, "apprenant", None, None, ESTABLISHMENT_PROFILES).q == "x" * 100
    assert parse_criteria(None, "apprenant", "0", None, tuple(Profile)).profile == "apprenant"


def test_criteria_round_trip_through_the_url():
    criteria = Criteria(q="élodie d", profile="apprenant", show_hidden=True, page=3)
    assert criteria.url() == "/utilisateurs?q=%C3%A9lodie+d&profil=apprenant&masques=1&page=3"
    assert criteria.url(page=1) == "/utilisateurs?q=%C3%A9lodie+d&profil=apprenant&masques=1"
    assert criteria.query_string(with_page=False) == "q=%C3%A9lodie+d&profil=apprenant&masques=1"
    assert Criteria().url() == "/utilisateurs"


@pytest.mark.parametrize("first, last, email, expected", [
    ("Élodie", "Dupont", "elodie@ecole.be", []),
    ("", "Dupont", "elodie@ecole.be", ["Indiquez le prénom."]),
    ("Élodie", "D" * 101, "elodie@ecole.be", ["Le nom ne peut dépasser 100 caractères."]),
    ("Élo\x00die", "Dupont", "elodie@ecole.be", ["Le prénom contient des caractères non autorisés."]),
    ("---", "!!!", "elodie@ecole.be", ["Le prénom ou le nom doit contenir au moins une lettre."]),
    ("Élodie", "Dupont", "elodie", ["L'adresse e-mail n'a pas une forme valide (exemple : prenom.nom@ecole.be)."]),
])
def test_person_problems_are_french(first, last, email, expected):
    assert person_problems(first, last, email) == expected


def test_versions_and_selections_must_be_integers():
    assert parse_version(" 4 ") == 4
    with pytest.raises(AdminError):
        parse_version("")
    with pytest.raises(AdminError):
        parse_version("4; DROP")
    assert parse_ids(["3", "1", "3"]) == [3, 1]
    with pytest.raises(AdminError, match="Cochez au moins un compte"):
        parse_ids([])
    with pytest.raises(AdminError, match="valeur invalide"):
        parse_ids(["1", "x"])
    with pytest.raises(AdminError, match="au plus"):
        parse_ids([str(i) for i in range(1, 300)])


def test_csv_has_a_bom_semicolons_and_neutralised_formulas():
    rows = [
        AccountRow(id=1, username="lucas.petit", first_name="Lucas", last_name="Petit", email="", origin="import",
                   activated=False, hidden=False, version=1, profiles=["Apprenant"]),
        AccountRow(id=2, username="x", first_name="=HYPERLINK(1)", last_name="Dé;jà", email="", origin="manual",
                   activated=True, hidden=False, version=1, profiles=["Enseignant", "Direction"]),
    ]
    data = csv_bytes(rows)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "nom;prénom;identifiant;profils;origine;état"
    assert lines[1] == "Petit;Lucas;lucas.petit;Apprenant;import;en attente d'activation"
    assert lines[2] == "\"Dé;jà\";'=HYPERLINK(1);x;Enseignant, Direction;manuel;activé"
