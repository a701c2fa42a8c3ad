"""The UAA reference file: it validates, its profiles respect the 25–27 weeks rule, and faults are named."""

from __future__ import annotations

import copy

import pytest

from portal.uaa.reference import (
    DEFAULT_PATH,
    ReferenceDataError,
    UaaEntry,
    read_reference,
    validate,
    warnings,
    weeks_flags,
    yearly_weeks,
)


@pytest.fixture(scope="module")
def data() -> dict:
    return read_reference()


def test_the_shipped_file_is_documented_and_valid(data):
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    assert text.startswith("# Référentiel des UAA") and "FORMAT" in text and "SOURCES" in text
    assert data["meta"]["sources"]
    options = validate(data)
    assert [option.code for option in options] == ["2115"]
    profile = options[0].profiles[0]
    assert profile.short_label == "Instal. élect. résidentiel(le)"
    by_code = {uaa.code: uaa for uaa in profile.uaa}
    assert by_code["10020"].label == "Placer les conduits et boîtiers encastrés" and not by_code["10020"].invented
    assert by_code["10021"].label == "Placer, raccorder équip. élec. install. encastrée"
    assert all(uaa.invented for code, uaa in by_code.items() if code not in {"10020", "10021"})
    assert {uaa.year for uaa in profile.uaa} == {4, 5, 6}
    assert warnings(options) == []


def test_yearly_weeks_of_the_shipped_profile(data):
    profile = validate(data)[0].profiles[0]
    totals = yearly_weeks(profile.uaa)
    assert set(totals) == {4, 5, 6} and all(25 <= weeks <= 27 for weeks in totals.values())


def uaa(year: int, weeks: int, code: str = "1") -> UaaEntry:
    return UaaEntry(code=code, label="x", weeks=weeks, year=year, position=1)


@pytest.mark.parametrize(("weeks", "flagged"), [
    ([5, 5, 5, 5, 5], False),  # 25
    ([6, 6, 5, 5, 5], False),  # 27
    ([5, 5, 5, 5, 4], True),  # 24
    ([6, 6, 6, 5, 5], True),  # 28
])
def test_weeks_outside_25_to_27_are_flagged(weeks, flagged):
    items = [uaa(4, w) for w in weeks]
    assert bool(weeks_flags(items)) is flagged


def test_each_year_is_checked_on_its_own():
    items = [uaa(4, 26), uaa(5, 20), uaa(6, 27), uaa(6, 3)]
    assert yearly_weeks(items) == {4: 26, 5: 20, 6: 30}
    assert weeks_flags(items, "2115") == [
        "profil 2115 : les UAA de 5e année totalisent 20 semaine(s), hors de la plage de 25 à 27 semaines.",
        "profil 2115 : les UAA de 6e année totalisent 30 semaine(s), hors de la plage de 25 à 27 semaines.",
    ]


def test_rows_from_the_database_are_accepted():
    assert weeks_flags([{"year": 4, "weeks": 26}]) == []


def first_uaa(data: dict) -> dict:
    return data["options"][0]["profiles"][0]["uaa"][0]


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: first_uaa(d).update(year=7), "Option 2115, profil n° 1 « 2115-IER », UAA n° 1 (10019) : « year » doit"),
    (lambda d: first_uaa(d).update(weeks="six"), "UAA n° 1 (10019) : « weeks » doit être un nombre entier de 1 à 40"),
    (lambda d: first_uaa(d).update(code="A12"), "UAA n° 1 (A12) : le code doit être un nombre de 1 à 10 chiffres"),
    (lambda d: first_uaa(d).update(label=""), "UAA n° 1 (10019) : « label » manquant ou vide"),
    (lambda d: first_uaa(d).update(invented="oui"), "« invented » doit valoir true ou false"),
    (lambda d: first_uaa(d).update(code="10020"), "UAA n° 2 (10020) : le code UAA 10020 figure deux fois"),
    (lambda d: first_uaa(d).update(position=2), "la position 2 est déjà prise dans le profil"),
    (lambda d: d["options"][0]["profiles"][0].update(short_label="x" * 61), "« short_label » trop long"),
    (lambda d: d["options"][0]["profiles"][0].update(uaa=[]), "la liste « uaa » est absente ou vide"),
    (lambda d: d["options"].append(copy.deepcopy(d["options"][0])), "Option 2115 : l'option figure deux fois"),
    (lambda d: d["meta"].update(version=2), "[meta] : la version du format doit être 1"),
    (lambda d: d.pop("options"), "Fichier : la liste « options » est absente ou vide"),
])
def test_malformed_entries_are_named_in_french(data, change, message):
    broken = copy.deepcopy(data)
    change(broken)
    with pytest.raises(ReferenceDataError) as error:
        validate(broken)
    assert any(message in text for text in error.value.messages), error.value.messages


def test_every_fault_is_listed_at_once(data):
    broken = copy.deepcopy(data)
    first_uaa(broken).update(year=9, weeks=0)
    with pytest.raises(ReferenceDataError) as error:
        validate(broken)
    assert len(error.value.messages) == 2


def test_an_unreadable_file_is_a_french_error(tmp_path):
    path = tmp_path / "faux.toml"
    path.write_text("[[options]\ncode = ", encoding="utf-8")
    with pytest.raises(ReferenceDataError, match="n'est pas un TOML valide"):
        read_reference(path)
    with pytest.raises(ReferenceDataError, match="introuvable"):
        read_reference(tmp_path / "absent.toml")
