"""The learner CSV of the UAA import, parsed and checked without a database: every fault names its line and
column; separators, encodings, dates, years of study and the limits."""

from __future__ import annotations

from datetime import date

import pytest

from portal.uaa import learner_csv
from portal.uaa.learner_csv import (
    COLUMNS,
    Fault,
    ImportRefused,
    age_on,
    decode,
    detect_separator,
    parse_date,
    parse_learners,
    parse_school_year,
    parse_study_year,
)
from portal.uaa.learner_search import SearchCriteria, parse_search

TODAY = date(2026, 11, 23)
HEADER = ";".join(COLUMNS)
GOOD = "Dupont;Élodie;F;18/09/2010;8501293/19;1 D2 4 P;2115;991071;2026-2027"
OPTIONS = {"2115", "7110"}
IMPLANTATIONS = {"991071"}


def parse(text: str | bytes, **kwargs):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return parse_learners(data, today=kwargs.pop("today", TODAY), option_codes=OPTIONS,
                          implantation_fases=IMPLANTATIONS, establishment_label="Institut technique démo", **kwargs)


def messages(result) -> list[str]:
    return [str(fault) for fault in result.faults]


def test_a_good_file_gives_clean_rows():
    result = parse(f"{HEADER}\n{GOOD}\nMartin ; Lucas ;m;2009-02-01; 8501294/20 ;1  d3 5 p;7110;;2026-2027\n")
    assert result.faults == []
    first, second = result.rows
    assert first == learner_csv.LearnerLine(
        line=2, last_name="Dupont", first_name="Élodie", sex="F", birth_date=date(2010, 9, 18),
        cf_number="8501293/19", study_year="1 D2 4 P", year=4, option_code="2115", implantation_fase="991071",
        school_year="2026-2027")
    assert (second.line, second.last_name, second.first_name, second.sex) == (3, "Martin", "Lucas", "M")
    assert (second.birth_date, second.cf_number, second.study_year, second.year) == (
        date(2009, 2, 1), "8501294/20", "1 D3 5 P", 5)
    assert second.implantation_fase == ""


def test_comma_separator_and_quoted_values_are_read():
    header = ",".join(COLUMNS)
    line = '"Van Damme, dit Jean",Jean-Claude,M,01/01/2010,8501295/21,1 D2 4 P,2115,,2026-2027'
    result = parse(f"{header}\r\n{line}\r\n")
    assert result.faults == []
    assert result.rows[0].last_name == "Van Damme, dit Jean"
    assert detect_separator("nom;prenom") == ";" and detect_separator("nom,prenom") == ","
    assert detect_separator("nom") == ";"


def test_header_names_ignore_case_accents_and_order():
    header = "Prénom;NOM;Sexe;Date_Naissance;numero_cf;annee_etudes;option;implantation;Année scolaire"
    result = parse(f"{header}\nÉlodie;Dupont;F;18/09/2010;8501293/19;1 D2 4 P;2115;;2026-2027\n")
    assert result.faults == []
    assert (result.rows[0].first_name, result.rows[0].last_name) == ("Élodie", "Dupont")


@pytest.mark.parametrize("encoding, bom", [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp1252", b"")])
def test_encodings_utf8_with_or_without_bom_and_windows_1252(encoding, bom):
    data = bom + f"{HEADER}\n{GOOD.replace('Élodie', 'Zoé-Ærïn')}\n".encode(encoding)
    result = parse(data)
    assert result.faults == []
    assert result.rows[0].first_name == "Zoé-Ærïn"
    assert decode(bom + "é".encode(encoding)) == "é"


@pytest.mark.parametrize("data, expected", [
    (b"", "Le fichier est vide."),
    (b"  \n\n", "Le fichier est vide."),
    (b"PK\x03\x04\x00\x00binary", "Le fichier n'est pas un fichier texte CSV"),
    ("nom;prenom".encode("utf-16"), "UTF-16"),
    (b"\x81\x8d\x8f\x90\x9d", "n'est pas un texte lisible"),
])
def test_files_that_are_not_text_are_refused(data, expected):
    result = parse(data)
    assert result.rows == [] and len(result.faults) == 1
    assert expected in str(result.faults[0])
    with pytest.raises(ImportRefused):
        decode(data)


def test_size_limit():
    data = f"{HEADER}\n".encode() + b"x" * learner_csv.MAX_BYTES
    assert "dépasse 5 Mo" in messages(parse(data))[0]


def test_line_limit(monkeypatch):
    monkeypatch.setattr(learner_csv, "MAX_ROWS", 3)
    lines = [f"Nom{i};Prénom;F;18/09/2010;85012{i:02d}/19;1 D2 4 P;2115;;2026-2027" for i in range(4)]
    result = parse("\n".join([HEADER, *lines[:3]]))
    assert result.faults == [] and len(result.rows) == 3
    result = parse("\n".join([HEADER, *lines]))
    assert "plus de 3 lignes d'élèves" in messages(result)[0]


@pytest.mark.parametrize("first_line, expected", [
    ("Dupont;Élodie;F;18/09/2010;8501293/19;1 D2 4 P;2115;;2026-2027",
     ("Ligne 1 : la première ligne doit être l'en-tête nom;prenom;sexe;date_naissance;numero_cf;annee_etudes;"
      "option;implantation;annee_scolaire")),
    ("nom;prenom;sexe;date_naissance;numero_cf;annee_etudes;option;annee_scolaire",
     "Ligne 1 : colonne(s) manquante(s) dans l'en-tête : implantation."),
    (HEADER + ";classe", "Ligne 1 : colonne(s) inconnue(s) dans l'en-tête : classe."),
    (HEADER + ";nom", "Ligne 1 : la colonne « nom » figure deux fois dans l'en-tête."),
])
def test_header_faults(first_line, expected):
    result = parse(f"{first_line}\n{GOOD}\n")
    assert result.rows == []
    assert any(message.startswith(expected) for message in messages(result)), messages(result)


def test_header_only_or_nothing_is_refused():
    assert messages(parse(f"{HEADER}\n\n")) == ["Le fichier ne contient aucune ligne d'élève après l'en-tête."]


def line_with(**values) -> str:
    cells = dict(zip(COLUMNS, GOOD.split(";"), strict=True))
    cells.update(values)
    return ";".join(cells[name] for name in COLUMNS)


@pytest.mark.parametrize("column, value, expected", [
    ("nom", "", "le nom est vide."),
    ("nom", "D" * 101, "le nom dépasse 100 caractères."),
    ("prenom", "", "le prénom est vide."),
    ("prenom", "Élo\x07die", "le prénom contient des caractères non autorisés."),
    ("sexe", "H", "« H » n'est pas accepté : indiquez M, F ou X."),
    ("sexe", "", "la valeur vide n'est pas accepté : indiquez M, F ou X."),
    ("date_naissance", "", "la date de naissance est vide."),
    ("date_naissance", "18.09.2010", "« 18.09.2010 » n'est pas une date : écrivez jj/mm/aaaa ou aaaa-mm-jj."),
    ("date_naissance", "31/02/2010", "la date « 31/02/2010 » n'existe pas."),
    ("date_naissance", "2010-13-01", "la date « 2010-13-01 » n'existe pas."),
    ("date_naissance", "01/01/2030", "la date 01/01/2030 est dans le futur."),
    ("date_naissance", "24/11/2016", "né(e) le 24/11/2016, l'élève aurait 9 ans : l'âge doit être compris entre 10 et 30 ans."),
    ("date_naissance", "22/11/1995", "né(e) le 22/11/1995, l'élève aurait 31 ans : l'âge doit être compris entre 10 et 30 ans."),
    ("numero_cf", "", "le N° CF est vide."),
    ("numero_cf", "850129319", "« 850129319 » n'est pas un N° CF : 7 chiffres, une barre oblique et 2 chiffres, par exemple 8501293/19."),
    ("numero_cf", "8501293/1", "« 8501293/1 » n'est pas un N° CF"),
    ("annee_etudes", "", "l'année d'études est vide."),
    ("annee_etudes", "4P", "« 4P » n'a pas la forme attendue, par exemple « 1 D2 4 P »"),
    ("annee_etudes", "1 D2 5 P", "l'année 5 n'appartient pas au degré D2."),
    ("annee_etudes", "1 D2 3 P", "l'année 3 n'est pas une année de la certification par unités (4e à 7e année)."),
    ("option", "", "le code de l'option (OBG) est vide."),
    ("option", "9999", "l'option « 9999 » n'existe pas"),
    ("implantation", "12345", "« 12345 » n'est le numéro FASE d'aucune implantation de Institut technique démo"),
    ("annee_scolaire", "", "l'année scolaire est vide."),
    ("annee_scolaire", "2026/2027", "« 2026/2027 » n'est pas une année scolaire : écrivez par exemple 2026-2027."),
    ("annee_scolaire", "2026-2028", "« 2026-2028 » : les deux années doivent se suivre (par exemple 2026-2027)."),
    ("annee_scolaire", "1990-1991", "l'année scolaire 1990-1991 n'est pas plausible."),
    ("annee_scolaire", "2030-2031", "l'année scolaire 2030-2031 n'est pas plausible."),
])
def test_every_fault_names_its_line_and_column(column, value, expected):
    result = parse(f"{HEADER}\n{GOOD.replace('8501293/19', '8501290/19')}\n{line_with(**{column: value})}\n")
    assert result.rows[0].line == 2 and len(result.rows) == 1
    assert len(result.faults) == 1, messages(result)
    fault = result.faults[0]
    assert (fault.line, fault.column) == (3, column)
    assert str(fault).startswith(f"Ligne 3, colonne {column} : {expected}"), str(fault)


def test_every_fault_of_every_line_is_reported():
    bad = [
        line_with(sexe="H", date_naissance="31/02/2010", numero_cf="8501297/19"),
        GOOD,
        line_with(numero_cf="8501296/19", option="0000", annee_scolaire="2026-2025"),
        GOOD,  # duplicate N° CF
    ]
    result = parse("\n".join([HEADER, *bad]))
    assert [(f.line, f.column) for f in result.faults] == [
        (2, "sexe"), (2, "date_naissance"), (4, "option"), (4, "annee_scolaire"), (5, "numero_cf"),
    ]
    assert str(result.faults[-1]) == "Ligne 5, colonne numero_cf : le N° CF 8501293/19 figure déjà à la ligne 3."


def test_a_line_with_the_wrong_number_of_values_says_so():
    result = parse(f"{HEADER}\n{GOOD.replace(';', ',')}\n{GOOD};extra\n")
    assert messages(result) == [
        ("Ligne 2 : 1 valeur(s) au lieu de 9 : vérifiez le séparateur « ; » et les guillemets autour des valeurs "
         "qui en contiennent."),
        ("Ligne 3 : 10 valeur(s) au lieu de 9 : vérifiez le séparateur « ; » et les guillemets autour des valeurs "
         "qui en contiennent."),
    ]


def test_blank_lines_and_a_trailing_separator_are_accepted():
    result = parse(f"\n{HEADER};\n\n{GOOD};\n;;;;;;;;\n")
    assert result.faults == [] and [row.line for row in result.rows] == [4]


def test_line_numbers_count_physical_lines_of_the_file():
    multi = line_with(nom='"Dupont\nDurand"', numero_cf="8501299/19", sexe="Y")
    result = parse(f"{HEADER}\n\n{multi}\n{line_with(sexe='Z')}\n")
    assert [(f.line, f.column) for f in result.faults] == [(3, "sexe"), (5, "sexe")]


@pytest.mark.parametrize("text, expected", [
    ("18/09/2010", date(2010, 9, 18)), ("1/2/2010", date(2010, 2, 1)), ("2010-09-18", date(2010, 9, 18)),
    ("29/02/2012", date(2012, 2, 29)),
])
def test_dates_in_both_forms(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["2010/09/18", "18-09-2010", "29/02/2011", "18/09/10", "aujourd'hui"])
def test_bad_dates(text):
    with pytest.raises(ValueError):
        parse_date(text)


def test_age_counts_full_years():
    assert age_on(date(2010, 11, 23), TODAY) == 16 and age_on(date(2010, 11, 24), TODAY) == 15
    assert age_on(date(2016, 11, 23), TODAY) == 10


@pytest.mark.parametrize("text, expected", [
    ("1 D2 4 P", ("1 D2 4 P", 4)), ("2 d3 5 tq", ("2 D3 5 TQ", 5)), ("1 D3 6 P", ("1 D3 6 P", 6)),
    ("1 D3 7 P", ("1 D3 7 P", 7)), ("  1   D2  4  P ", ("1 D2 4 P", 4)),
])
def test_the_year_comes_from_the_year_of_study(text, expected):
    assert parse_study_year(text) == expected


def test_school_years():
    assert parse_school_year("2026 - 2027", TODAY) == "2026-2027"
    assert parse_school_year("2027-2028", TODAY) == "2027-2028"
    with pytest.raises(ValueError):
        parse_school_year("2028-2029", TODAY)


def test_fault_text():
    assert str(Fault("x", 4, "date_naissance")) == "Ligne 4, colonne date_naissance : x"
    assert str(Fault("x", 4)) == "Ligne 4 : x" and str(Fault("x")) == "x"


# --- search criteria ----------------------------------------------------------------------------------------


def test_search_criteria_are_read_leniently():
    assert parse_search() == SearchCriteria()
    criteria = parse_search(annee="2026-2027", implantation="12", etudes=" 1  D2 4 P ", obg="2115", q="  du  pont ",
                            tri="naissance", ordre="desc", page="3", taille="50")
    assert criteria == SearchCriteria(school_year="2026-2027", implantation=12, study_year="1 D2 4 P", option="2115",
                                      q="du pont", sort="naissance", order="desc", page=3, size=50)
    odd = parse_search(annee="2026", implantation="x", tri="password; DROP", ordre="sideways", page="-1",
                       taille="1000", q="y" * 300)
    assert odd == SearchCriteria(q="y" * 100)


def test_search_urls_keep_every_criterion():
    criteria = SearchCriteria(school_year="2026-2027", implantation=3, study_year="1 D2 4 P", option="2115",
                              q="dupont", sort="cf", order="desc", page=2, size=50)
    assert criteria.url() == ("/uaa/recherche?annee=2026-2027&implantation=3&etudes=1+D2+4+P&obg=2115&q=dupont"
                              "&tri=cf&ordre=desc&taille=50&page=2")
    assert criteria.page_base().endswith("&taille=50&")
    assert SearchCriteria().url() == "/uaa/recherche" and SearchCriteria().page_base() == "/uaa/recherche?"
    # a header link sorts ascending on its column, or flips the order of the current one; back to page 1
    assert criteria.sort_url("nom") == ("/uaa/recherche?annee=2026-2027&implantation=3&etudes=1+D2+4+P&obg=2115"
                                        "&q=dupont&taille=50")  # nom ascending is the default sort
    assert "tri=prenom&ordre=asc" in criteria.sort_url("prenom") and "page=" not in criteria.sort_url("prenom")
    assert "tri=cf&ordre=asc" in criteria.sort_url("cf")
    assert SearchCriteria().sort_url("nom") == "/uaa/recherche?tri=nom&ordre=desc"
    assert criteria.aria_sort("cf") == "descending" and criteria.aria_sort("nom") is None
    assert SearchCriteria().aria_sort("nom") == "ascending"
