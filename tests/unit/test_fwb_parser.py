"""Parsing the FWB establishment directory: its quirks, on small in-memory samples (no database)."""

from __future__ import annotations

import csv
import gzip
import io

import pytest

from portal.imports.fwb import COLUMNS, FwbFileError, decode, parse, parse_fase, teaching_kind

HEADER = [
    "N° FASE de l'établissement", "Nom d'établissement", "Numéro BCE de l'établissement", "Type d'enseignement",
    "Niveau", "Genre", "Réseau", "Adresse de l'établissement", "code_postal_de_l_etablissement",
    "Localité de l'établissement", "Commune de l'établissement", "Bassin", "arrondissement_administratif",
    "N° FASE de l'implantation", "Adresse de l'implantation", "Code postal de l'implantation",
    "Localité de l'implantation", "Commune de l'implantation", "Latitude", "Longitude", "N° FASE du PO", "Nom du PO",
    "Numéro BCE du PO", "Adresse du PO", "Code postal du PO", "Localité du PO", "Commune du PO", "pointgeo",
]


def row(est="10.0", imp="21.0", po="1136.0", name='Ecole primaire P9/10 "Carrefour"', kind="Primaire ordinaire",
        genre="Ordinaire", bassin="Bruxelles", address="Rue Eloy 114", **extra) -> dict:
    values = {
        "N° FASE de l'établissement": est, "Nom d'établissement": name, "Type d'enseignement": kind,
        "Genre": genre, "Réseau": "Subventionné communal", "Localité de l'établissement": "ANDERLECHT",
        "Bassin": bassin, "N° FASE de l'implantation": imp, "Adresse de l'implantation": address,
        "Code postal de l'implantation": "1070", "Localité de l'implantation": "ANDERLECHT", "N° FASE du PO": po,
        "Nom du PO": "Collège des Bourgmestre et Echevins de la commune d'Anderlecht",
        "pointgeo": "50.8360049, 4.3245095",
    }
    values.update(extra)
    return values


def csv_text(*rows: dict, delimiter: str = ",", header=HEADER) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for values in rows:
        writer.writerow([values.get(name, "") for name in header])
    return out.getvalue()


@pytest.mark.parametrize(("raw", "expected"), [
    ("10.0", "10"), ("10", "10"), (" 95787.0 ", "95787"), ("0010.00", "10"),
    ("", None), ("abc", None), ("10.5", None), ("1e3", None), ("-4.0", None), ("10,0", None),
])
def test_fase_numbers_written_as_floats(raw, expected):
    assert parse_fase(raw) == expected


@pytest.mark.parametrize(("teaching", "genre", "kind"), [
    ("Primaire ordinaire", "Ordinaire", "ordinaire"),
    ("Secondaire spécialisé", "Spécialisé", "spécialisé"),
    ("Maternel spécialisé", "", "spécialisé"),
    ("Secondaire CEFA", "Ordinaire", "ordinaire"),
    ("Artistique à horaire réduit", "", "ordinaire"),
])
def test_kind_from_the_type_of_teaching(teaching, genre, kind):
    assert teaching_kind(teaching, genre) == kind


def test_one_line_per_implantation_gives_each_entity_once():
    text = csv_text(row(), row(kind="Maternel ordinaire"), row(imp="22.0", address="Rue de Douvres 48"),
                    row(est="1000.0", imp="1899.0", po="481.0", name="INSTITUT SAINTE-MARIE", bassin="Hainaut Sud",
                        kind="Secondaire ordinaire", **{"Nom du PO": "Association Ecoles Libres Châtelet"}))
    parsed = parse(text)
    assert parsed.rejected == [] and parsed.lines == 4
    assert set(parsed.establishments) == {"10", "1000"}
    assert set(parsed.bodies) == {"1136", "481"}
    assert set(parsed.implantations) == {"21", "22", "1899"}
    assert set(parsed.zones) == {"Bruxelles", "Hainaut Sud"}
    school = parsed.establishments["10"]
    assert (school.name, school.kind, school.city, school.po_fase, school.zone) == (
        'Ecole primaire P9/10 "Carrefour"', "ordinaire", "ANDERLECHT", "1136", "Bruxelles")
    site = parsed.implantations["22"]
    assert (site.establishment_fase, site.address, site.postcode, site.city) == ("10", "Rue de Douvres 48", "1070",
                                                                                 "ANDERLECHT")
    assert site.name == 'Ecole primaire P9/10 "Carrefour" — Rue de Douvres 48'
    assert parsed.first_line[("est", "1000")] == 5


def test_hors_zones_is_a_zone_of_its_own():
    parsed = parse(csv_text(row(bassin="Hors zones", est="2448.0", imp="3001.0", name="ECOLE ROYALE TECHNIQUE")))
    assert parsed.zones["Hors zones"].country == "BE"
    assert parsed.establishments["2448"].zone == "Hors zones"


def test_malformed_lines_are_rejected_with_their_number_and_reason():
    text = csv_text(row(), row(est="abc"), row(name=""), row(est="10.0", name="AUTRE NOM"),
                    row(po="1136.0", **{"Nom du PO": "Autre PO"}), row(imp="21.0", address="Ailleurs 1"),
                    row(**{"Code postal de l'implantation": "12345678901"}))
    text += "12.0,COURTE\r\n"
    parsed = parse(text)
    reasons = {r.line: r.reason for r in parsed.rejected}
    assert reasons == {
        3: "numéro FASE de l'établissement invalide : « abc ».",
        4: "nom d'établissement manquant.",
        5: "l'établissement 10 est décrit autrement à la ligne 2 (nom).",
        6: "le PO 1136 est décrit autrement à la ligne 2 (nom).",
        7: "l'implantation 21 a une autre adresse à la ligne 2.",
        8: "code postal de l'implantation trop long (11 caractères, au plus 10).",
        9: "2 colonne(s) au lieu de 28.",
    }
    assert set(parsed.establishments) == {"10"}


def test_line_numbers_count_quoted_line_breaks():
    text = csv_text(row(name="ECOLE\nSUR DEUX LIGNES"), row(est="x"))
    parsed = parse(text)
    assert [(r.line, r.reason) for r in parsed.rejected] == [(4, "numéro FASE de l'établissement invalide : « x ».")]


def test_blank_lines_are_skipped():
    parsed = parse(csv_text(row()) + "\r\n\r\n")
    assert parsed.lines == 1 and parsed.rejected == []


def test_an_implantation_shared_by_two_establishments_goes_to_the_lowest_fase():
    parsed = parse(csv_text(row(est="5434.0", imp="1901.0", name="CEFA - INSTITUT SAINTE-ANNE"),
                            row(est="1004.0", imp="1901.0", name="INSTITUT SAINTE-MARIE")))
    assert parsed.rejected == []
    assert parsed.implantations["1901"].establishment_fase == "1004"
    assert parsed.notes == [("L'implantation 1901 figure sous les établissements 1004, 5434 : elle est "
                             "rattachée à l'établissement 1004.")]


def test_semicolons_and_a_byte_order_mark_are_accepted():
    data = ("\ufeff" + csv_text(row(), delimiter=";")).encode("utf-8")
    parsed = parse(decode(data))
    assert set(parsed.establishments) == {"10"}


def test_gzip_is_expanded():
    assert decode(gzip.compress(csv_text(row()).encode("utf-8"))) == csv_text(row())


@pytest.mark.parametrize(("data", "message"), [
    (b"", "vide"),
    (b"\x1f\x8b\x08\x00broken", "gzip"),
    (b"\x00\x01\x02binary", "n'est pas un fichier texte CSV"),
    ("Bassin;Réseau\n".encode("cp1252"), "UTF-8"),
])
def test_unreadable_files_are_refused_in_french(data, message):
    with pytest.raises(FwbFileError, match=message):
        decode(data)


def test_a_file_without_the_directory_columns_is_refused():
    with pytest.raises(FwbFileError) as error:
        parse("nom,prenom\r\nDupont,Jean\r\n")
    assert "Colonnes manquantes" in str(error.value) and "« N° FASE du PO »" in str(error.value)


def test_a_header_alone_is_refused():
    with pytest.raises(FwbFileError, match="aucune ligne"):
        parse(csv_text())


def test_only_the_needed_columns_are_required():
    header = list(COLUMNS.values())
    parsed = parse(csv_text(row(), header=header))
    assert parsed.rejected == [] and parsed.establishments["10"].kind == "ordinaire"
