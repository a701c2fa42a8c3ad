"""The CSV file of a school's learners (SPEC §5; CEPU guide §2.7): its format (:data:`COLUMNS`, described in the
README), decoding, and the check of every line before anything changes — any fault refuses the whole file, and
every fault is reported with its line and column. Pure functions: no database, no Litestar. The import that
applies a checked file is :mod:`portal.uaa.learners`.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date



# --- the CSV format --------------------------------------------------------------------------------------------

#: The columns of the file, in the order of the model file (the header names them; any order is accepted).
COLUMNS = ("nom", "prenom", "sexe", "date_naissance", "numero_cf", "annee_etudes", "option", "implantation",
           "annee_scolaire")
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
NAME_MAX = 100
AGE_MIN, AGE_MAX = 10, 30
SEXES = ("M", "F", "X")
FIRST_SCHOOL_YEAR = 2000
#: ``1 D2 4 P``: a number, the degree (D1–D3), the year of study, the form (letters: P, TQ…).
STUDY_YEAR_RE = re.compile(r"^(\d{1,2}) D([1-3]) ([1-7]) ([A-Z]{1,3})$")
DEGREE_YEARS = {1: (1, 2), 2: (3, 4), 3: (5, 6, 7)}
YEAR_MIN, YEAR_MAX = 4, 7
CF_RE = re.compile(r"^\d{7}/\d{2}$")
SCHOOL_YEAR_RE = re.compile(r"^(\d{4})-(\d{4})$")
DMY_RE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
FAULTS_SHOWN = 1000


class ImportRefused(Exception):
    """The file was refused: nothing changed. ``faults`` says every reason, in French."""

    def __init__(self, faults: list[Fault]):
        super().__init__("; ".join(str(f) for f in faults[:5]))
        self.faults = faults


@dataclass(frozen=True)
class Fault:
    """One reason to refuse a file: on a line and a column, on a line, or on the whole file."""

    message: str
    line: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        if self.line is not None and self.column:
            return f"Ligne {self.line}, colonne {self.column} : {self.message}"
        if self.line is not None:
            return f"Ligne {self.line} : {self.message}"
        return self.message


@dataclass(frozen=True)
class LearnerLine:
    """One valid line of the file, its values cleaned."""

    line: int
    last_name: str
    first_name: str
    sex: str
    birth_date: date
    cf_number: str
    study_year: str
    year: int
    option_code: str
    implantation_fase: str  # "" when the learner has no implantation
    school_year: str


@dataclass
class Parsed:
    """What :func:`parse_learners` found: the valid lines and every fault (the file is usable when none)."""

    rows: list[LearnerLine] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)


def _plain(text: str) -> str:
    """Lower case without accents: ``Prénom`` → ``prenom``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(ch) in {"Cc", "Cf"} for ch in text)


def decode(data: bytes) -> str:
    """The text of an uploaded file: UTF-8 (with or without byte-order mark), else Windows-1252.

    Raises :class:`ImportRefused` for an empty, oversized or binary file.
    """
    if not data or not data.strip():
        raise ImportRefused([Fault("Le fichier est vide.")])
    if len(data) > MAX_BYTES:
        raise ImportRefused([Fault(f"Le fichier dépasse {MAX_BYTES // (1024 * 1024)} Mo : découpez-le en "
                                   "plusieurs fichiers.")])
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ImportRefused([Fault("Le fichier est encodé en UTF-16 : enregistrez-le au format « CSV UTF-8 » "
                                   "ou « CSV (séparateur : point-virgule) ».")])
    if b"\x00" in data:
        raise ImportRefused([Fault("Le fichier n'est pas un fichier texte CSV (contenu binaire : classeur, "
                                   "PDF, image…). Enregistrez la liste au format CSV.")])
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise ImportRefused([Fault("Le fichier n'est pas un texte lisible : enregistrez-le en UTF-8 ou en "
                                   "Windows-1252 (ANSI).")]) from None


def detect_separator(header: str) -> str:
    """``;`` or ``,``: the one the header line uses (``;`` when it has both or neither)."""
    if header.count(";") >= header.count(",") or ";" not in header and "," not in header:
        return ";"
    return ","


def parse_date(text: str) -> date:
    """A date written ``dd/mm/yyyy`` (day and month may have one digit) or ``yyyy-mm-dd``.

    Raises ``ValueError`` with the French reason.
    """
    match = DMY_RE.match(text)
    if match:
        day, month, year = (int(g) for g in match.groups())
    else:
        match = ISO_RE.match(text)
        if not match:
            raise ValueError(f"« {text} » n'est pas une date : écrivez jj/mm/aaaa ou aaaa-mm-jj.")
        year, month, day = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"la date « {text} » n'existe pas.") from None


def age_on(birth: date, today: date) -> int:
    """Age in full years on ``today``."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def parse_study_year(text: str) -> tuple[str, int]:
    """``1 D2 4 P`` → (``"1 D2 4 P"``, 4): the year of study as written (spaces and case tidied) and the year.

    The third group is the year of study (4 to 7) and becomes ``Learner.year``; it must belong to the degree
    (D2: 3rd–4th year, D3: 5th–7th). Raises ``ValueError`` with the French reason.
    """
    tidy = " ".join(text.upper().split())
    match = STUDY_YEAR_RE.match(tidy)
    if not match:
        raise ValueError(f"« {text} » n'a pas la forme attendue, par exemple « 1 D2 4 P » (numéro, degré D1 à "
                         "D3, année 4 à 7, forme).")
    degree, year = int(match.group(2)), int(match.group(3))
    if year not in DEGREE_YEARS[degree]:
        raise ValueError(f"l'année {year} n'appartient pas au degré D{degree}.")
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise ValueError(f"l'année {year} n'est pas une année de la certification par unités (4e à 7e année).")
    return tidy, year


def parse_school_year(text: str, today: date) -> str:
    """``2026-2027``: two consecutive years, from 2000 to next year. Raises ``ValueError`` in French."""
    tidy = text.replace(" ", "")
    match = SCHOOL_YEAR_RE.match(tidy)
    if not match:
        raise ValueError(f"« {text} » n'est pas une année scolaire : écrivez par exemple 2026-2027.")
    first, second = int(match.group(1)), int(match.group(2))
    if second != first + 1:
        raise ValueError(f"« {text} » : les deux années doivent se suivre (par exemple {first}-{first + 1}).")
    if not FIRST_SCHOOL_YEAR <= first <= today.year + 1:
        raise ValueError(f"l'année scolaire {tidy} n'est pas plausible.")
    return tidy


def _name(value: str, column: str, line: int, faults: list[Fault], label: str) -> str:
    value = " ".join(value.split())
    if not value:
        faults.append(Fault(f"le {label} est vide.", line, column))
    elif len(value) > NAME_MAX:
        faults.append(Fault(f"le {label} dépasse {NAME_MAX} caractères.", line, column))
    elif _has_control_characters(value):
        faults.append(Fault(f"le {label} contient des caractères non autorisés.", line, column))
    return value


def _check_line(cells: dict[str, str], line: int, today: date, option_codes: Collection[str],
                implantation_fases: Collection[str], establishment_label: str,
                faults: list[Fault]) -> LearnerLine | None:
    """Validate one line; appends its faults and returns the cleaned line when it has none."""
    before = len(faults)
    last_name = _name(cells["nom"], "nom", line, faults, "nom")
    first_name = _name(cells["prenom"], "prenom", line, faults, "prénom")

    sex = cells["sexe"].upper()
    if sex not in SEXES:
        shown = f"« {cells['sexe']} »" if cells["sexe"] else "la valeur vide"
        faults.append(Fault(f"{shown} n'est pas accepté : indiquez M, F ou X.", line, "sexe"))

    birth_date = None
    if not cells["date_naissance"]:
        faults.append(Fault("la date de naissance est vide.", line, "date_naissance"))
    else:
        try:
            birth_date = parse_date(cells["date_naissance"])
        except ValueError as error:
            faults.append(Fault(str(error), line, "date_naissance"))
        else:
            age = age_on(birth_date, today)
            if birth_date > today:
                faults.append(Fault(f"la date {birth_date:%d/%m/%Y} est dans le futur.", line, "date_naissance"))
            elif not AGE_MIN <= age <= AGE_MAX:
                faults.append(Fault(f"né(e) le {birth_date:%d/%m/%Y}, l'élève aurait {age} ans : l'âge doit être "
                                    f"compris entre {AGE_MIN} et {AGE_MAX} ans.", line, "date_naissance"))

    cf_number = cells["numero_cf"].replace(" ", "")
    if not cf_number:
        faults.append(Fault("le N° CF est vide.", line, "numero_cf"))
    elif not CF_RE.match(cf_number):
        faults.append(Fault(f"« {cells['numero_cf']} » n'est pas un N° CF : 7 chiffres, une barre oblique et "
                            "2 chiffres, par exemple 8501293/19.", line, "numero_cf"))

    study_year, year = "", 0
    if not cells["annee_etudes"]:
        faults.append(Fault("l'année d'études est vide.", line, "annee_etudes"))
    else:
        try:
            study_year, year = parse_study_year(cells["annee_etudes"])
        except ValueError as error:
            faults.append(Fault(str(error), line, "annee_etudes"))

    option_code = cells["option"].replace(" ", "")
    if not option_code:
        faults.append(Fault("le code de l'option (OBG) est vide.", line, "option"))
    elif option_code not in option_codes:
        faults.append(Fault(f"l'option « {cells['option']} » n'existe pas : indiquez le code d'une option de base "
                            "groupée connue du portail (par exemple 2115).", line, "option"))

    implantation = cells["implantation"].replace(" ", "")
    if implantation and implantation not in implantation_fases:
        where = f" de {establishment_label}" if establishment_label else " de votre établissement"
        faults.append(Fault(f"« {cells['implantation']} » n'est le numéro FASE d'aucune implantation{where} "
                            "(laissez la colonne vide si l'élève n'a pas d'implantation).", line, "implantation"))

    school_year = ""
    if not cells["annee_scolaire"]:
        faults.append(Fault("l'année scolaire est vide.", line, "annee_scolaire"))
    else:
        try:
            school_year = parse_school_year(cells["annee_scolaire"], today)
        except ValueError as error:
            faults.append(Fault(str(error), line, "annee_scolaire"))

    if len(faults) > before or birth_date is None:
        return None
    return LearnerLine(line=line, last_name=last_name, first_name=first_name, sex=sex, birth_date=birth_date,
                       cf_number=cf_number, study_year=study_year, year=year, option_code=option_code,
                       implantation_fase=implantation, school_year=school_year)


def _header(cells: list[str], separator: str) -> tuple[dict[str, int], list[Fault]]:
    """Map the column names of the header line to their positions."""
    names = [_plain(cell.strip()).replace(" ", "_").replace("-", "_") for cell in cells]
    faults: list[Fault] = []
    positions: dict[str, int] = {}
    unknown = []
    for index, name in enumerate(names):
        if name in COLUMNS:
            if name in positions:
                faults.append(Fault(f"la colonne « {name} » figure deux fois dans l'en-tête.", 1))
            positions[name] = index
        elif name:
            unknown.append(cells[index].strip())
    missing = [name for name in COLUMNS if name not in positions]
    if missing and not positions:
        faults.append(Fault("la première ligne doit être l'en-tête " + separator.join(COLUMNS)
                            + f" (séparateur « ; » ou « , »). Lu : « {separator.join(c.strip() for c in cells)[:120]} ».",
                            1))
        return positions, faults
    if missing:
        faults.append(Fault("colonne(s) manquante(s) dans l'en-tête : " + ", ".join(missing) + ".", 1))
    if unknown:
        faults.append(Fault("colonne(s) inconnue(s) dans l'en-tête : " + ", ".join(unknown[:10])
                            + ". Colonnes attendues : " + ", ".join(COLUMNS) + ".", 1))
    return positions, faults


def parse_learners(data: bytes, *, today: date, option_codes: Collection[str], implantation_fases: Collection[str],
                   establishment_label: str = "") -> Parsed:
    """Read and check a whole file (pure). Every fault is kept, named with its line (the header is line 1)
    and column; the file is usable only when ``faults`` is empty.

    ``option_codes``: the OBG codes known to the portal; ``implantation_fases``: the FASE numbers of the
    implantations of the establishment acted for.
    """
    result = Parsed()
    try:
        text = decode(data)
    except ImportRefused as refused:
        result.faults.extend(refused.faults)
        return result
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    separator = detect_separator(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, quotechar='"', strict=False)
    positions: dict[str, int] | None = None
    seen: dict[str, int] = {}
    count = 0
    end = 0  # last physical line read: a value may span several lines inside quotes
    try:
        for cells in reader:
            line, end = end + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # blank lines are skipped
            if positions is None:
                positions, faults = _header(cells, separator)
                if faults:
                    result.faults.extend(faults)
                    return result
                continue
            count += 1
            if count > MAX_ROWS:
                limit = f"{MAX_ROWS:,}".replace(",", "\u202f")
                result.faults.insert(0, Fault(f"Le fichier compte plus de {limit} lignes d'élèves : découpez-le "
                                              "en plusieurs fichiers."))
                return result
            needed = max(positions.values()) + 1
            if len(cells) < needed or any(cell.strip() for cell in cells[needed:]):
                result.faults.append(Fault(
                    f"{len(cells)} valeur(s) au lieu de {len(COLUMNS)} : vérifiez le séparateur « {separator} » "
                    "et les guillemets autour des valeurs qui en contiennent.", line))
                continue
            values = {name: cells[index].strip() for name, index in positions.items()}
            row = _check_line(values, line, today, option_codes, implantation_fases, establishment_label,
                              result.faults)
            cf = values["numero_cf"].replace(" ", "")
            if cf and CF_RE.match(cf):
                if cf in seen:
                    result.faults.append(Fault(f"le N° CF {cf} figure déjà à la ligne {seen[cf]}.", line,
                                               "numero_cf"))
                    row = None
                else:
                    seen[cf] = line
            if row is not None:
                result.rows.append(row)
    except csv.Error as error:
        result.faults.append(Fault(f"le fichier CSV est mal formé ({error}).", reader.line_num))
        return result
    if positions is None:
        result.faults.append(Fault("Le fichier ne contient pas d'en-tête : la première ligne doit être "
                                   + ";".join(COLUMNS) + "."))
    elif count == 0:
        result.faults.append(Fault("Le fichier ne contient aucune ligne d'élève après l'en-tête."))
    return result
