"""Learners of an establishment: the CSV import of the school's records and the learner search (SPEC §5; CEPU
guide §2.2–2.3 and §2.7). No Litestar here.

**Import.** A school administrator or a direction uploads the school's list of learners as CSV (the format is
:data:`COLUMNS`, described in the README). Every line is checked before anything changes: any fault refuses the
whole file and every fault is reported with its line and column. A valid file is applied in one transaction:
new learners are inserted (with one pending attempt, *A encoder*, per UAA of their year's programme), existing
learners of the establishment (same N° CF) are updated, attempts are never changed or deleted. One history event
tells what happened.

**Search.** The learners of the establishment acted for (never another's), filtered by school year, implantation,
year of study, option and a text, sorted by a whitelisted column, paged. A page costs four queries whatever the
number of rows: the implantations, the distinct (school year, year of study, option) of the school, the count and
the page itself.

The pure functions (decoding, parsing, validation, criteria) come first; the functions that touch the database
follow.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from urllib.parse import urlencode

from portal.accounts.identity import CurrentUser
from portal.core.clock import today as today_local
from portal.core.db import atomic, is_sqlite
from portal.directory.tables import Implantation
from portal.history.services import record
from portal.permissions import allowed
from portal.uaa import stamps
from portal.uaa.rules import PENDING
from portal.uaa.tables import Attempt, Learner, Option

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
BATCH = 500
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


# --- import ----------------------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did."""

    filename: str
    lines: int
    created: int
    updated: int
    unchanged: int
    attempts: int  # pending attempts created (new learners, or a learner whose option or year changed)


class NoEstablishment(Exception):
    """The affiliation acted for is not tied to an establishment."""


def establishment_of(user: CurrentUser) -> int:
    """The id of the establishment the person acts for (the scope of import and search)."""
    active = user.active
    if active is None or not active.establishment_id:
        raise NoEstablishment("Ce profil n'est rattaché à aucun établissement.")
    return active.establishment_id


def _chunks(items: list, size: int = BATCH) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


_COMPARED = ("last_name", "first_name", "sex", "birth_date", "study_year", "year", "option", "implantation",
             "school_year", "active")


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


async def import_learners(user: CurrentUser, data: bytes, filename: str = "", today: date | None = None) -> ImportReport:
    """Check the whole file, then create and update the establishment's learners in one transaction.

    Raises :class:`ImportRefused` (nothing changed) with every fault. A N° CF already held by a learner of
    another establishment is a fault: moving a learner between schools is a separate procedure.
    """
    establishment_id = establishment_of(user)
    today = today or today_local()
    options = {row["code"]: row["id"] for row in await Option.select(Option.id, Option.code)}
    implantations = {row["fase"]: row["id"] for row in await Implantation.select(Implantation.id, Implantation.fase)
                     .where(Implantation.establishment == establishment_id) if row["fase"]}
    label = user.active.scope_label if user.active else ""
    parsed = parse_learners(data, today=today, option_codes=options, implantation_fases=implantations,
                            establishment_label=label)
    if parsed.faults:
        raise ImportRefused(parsed.faults)

    wanted = {row.cf_number: row for row in parsed.rows}
    try:
        return await _apply(user, establishment_id, parsed, wanted, options, implantations, filename)
    except Exception as error:
        if _is_unique_violation(error):  # another import created the same N° CF meanwhile (PostgreSQL)
            raise ImportRefused([Fault("Un autre import a créé les mêmes élèves pendant celui-ci : rien n'a été "
                                       "importé. Recommencez l'import.")]) from error
        raise


def _is_unique_violation(error: Exception) -> bool:
    """A duplicate key: asyncpg's ``UniqueViolationError``, SQLite's « UNIQUE constraint failed »."""
    if isinstance(error, sqlite3.IntegrityError):
        return "UNIQUE" in str(error)
    return type(error).__name__ == "UniqueViolationError"


async def _apply(user: CurrentUser, establishment_id: int, parsed: Parsed, wanted: dict[str, LearnerLine],
                 options: dict[str, int], implantations: dict[str, int], filename: str) -> ImportReport:
    """The writing half of :func:`import_learners`, in one transaction."""
    async with atomic():
        existing: dict[str, dict] = {}
        for chunk in _chunks(list(wanted)):
            for row in await Learner.select(
                Learner.id, Learner.cf_number, Learner.establishment, *(getattr(Learner, name) for name in _COMPARED),
            ).where(Learner.cf_number.is_in(chunk)):
                existing[row["cf_number"]] = row
        foreign = [Fault(f"le N° CF {cf} appartient à un élève d'un autre établissement : accueillez-le d'abord "
                         "par « Accueillir un élève » (/uaa/transfert), puis importez à nouveau.", wanted[cf].line,
                         "numero_cf")
                   for cf, row in existing.items() if row["establishment"] != establishment_id]
        if foreign:
            raise ImportRefused(sorted(foreign, key=lambda f: f.line or 0))

        new_rows: list[dict] = []
        changes: list[tuple[int, dict, dict]] = []  # learner id, new values, changed fields (before, after)
        unchanged = 0
        programme_changed: list[int] = []
        for cf, line in wanted.items():
            values = {
                "last_name": line.last_name, "first_name": line.first_name, "sex": line.sex,
                "birth_date": line.birth_date, "study_year": line.study_year, "year": line.year,
                "option": options[line.option_code], "implantation": implantations.get(line.implantation_fase),
                "school_year": line.school_year, "active": True,
            }
            current = existing.get(cf)
            if current is None:
                new_rows.append({"establishment": establishment_id, "cf_number": cf, **values})
                continue
            before = {**current, "birth_date": _as_date(current["birth_date"]), "active": bool(current["active"])}
            diff = {name: (before[name], values[name]) for name in _COMPARED if before[name] != values[name]}
            if not diff:
                unchanged += 1
                continue
            changes.append((current["id"], values, diff))
            if "option" in diff or "year" in diff:
                programme_changed.append(current["id"])

        created = await _insert_learners(new_rows)
        for learner_id, values, _diff in changes:
            await _update_learner(learner_id, values)
        # Pending attempts: the programme of the learner's year, for new learners and for those whose option or
        # year changed (only the UAA they have no attempt of yet).
        attempts = (await _add_pending_attempts(created, establishment_id, check=False)
                    + await _add_pending_attempts(programme_changed, establishment_id, check=True))

        report = ImportReport(filename=filename, lines=len(parsed.rows), created=len(new_rows), updated=len(changes),
                              unchanged=unchanged, attempts=attempts)
        await record(
            user.actor, "learner", None, "import",
            summary=(f"Import des élèves{f' ({filename})' if filename else ''} : {report.created} créé(s), "
                     f"{report.updated} mis à jour, {report.unchanged} inchangé(s)"),
            after={
                "fichier": filename, "lignes": report.lines, "crees": report.created, "mis_a_jour": report.updated,
                "inchanges": report.unchanged, "presentations_creees": attempts,
                "modifications": [{"id": learner_id, **{k: list(v) for k, v in diff.items()}}
                                  for learner_id, _values, diff in changes[:100]],
            },
            establishment_id=establishment_id,
        )
    return report


# Bulk writes in plain SQL: Piccolo builds one Python object per row and per value, which costs seconds for
# the tens of thousands of rows of a large school; these statements take parameters only, never text from the file.
_LEARNER_COLUMNS = ("establishment", "implantation", "option", "cf_number", "last_name", "first_name", "sex",
                    "birth_date", "study_year", "year", "school_year", "active")
_UPDATED_COLUMNS = ("last_name", "first_name", "sex", "birth_date", "study_year", "year", "option", "implantation",
                    "school_year", "active")


async def _insert_learners(rows: list[dict]) -> list[int]:
    """Insert new learners, 500 rows a statement; returns their ids."""
    ids: list[int] = []
    columns = ", ".join(f'"{name}"' for name in (*_LEARNER_COLUMNS, "account", "demo", "version"))
    one = "(" + ", ".join(["{}"] * len(_LEARNER_COLUMNS)) + ", NULL, {}, 1)"
    for chunk in _chunks(rows):
        sql = f'INSERT INTO "learner" ({columns}) VALUES ' + ", ".join([one] * len(chunk)) + ' RETURNING "id"'
        args = [value for row in chunk for value in (*(row[name] for name in _LEARNER_COLUMNS), False)]
        ids += [row["id"] for row in await Learner.raw(sql, *args)]
    return ids


async def _update_learner(learner_id: int, values: dict) -> None:
    """Write the file's values over a learner and bump its version."""
    assignments = ", ".join(f'"{name}" = {{}}' for name in _UPDATED_COLUMNS)
    await Learner.raw(f'UPDATE "learner" SET {assignments}, "version" = "version" + 1 WHERE "id" = {{}}',
                      *(values[name] for name in _UPDATED_COLUMNS), learner_id)


async def _add_pending_attempts(learner_ids: list[int], establishment_id: int, *, check: bool) -> int:
    """One pending attempt (sequence 1, *A encoder*) per UAA of each learner's programme — the UAA of the
    learner's option whose year is the learner's. With ``check``, only for the UAA the learner has no attempt of
    yet (existing attempts are never touched). Set-based, 500 learners a statement. Returns how many were added."""
    added = 0
    for chunk in _chunks(learner_ids):
        placeholders = ", ".join(["{}"] * len(chunk))
        # NOT IN on the learner's own attempts (index on uaa_attempt.learner): the cost stays per learner.
        held = ' AND u."id" NOT IN (SELECT a."uaa" FROM "uaa_attempt" a WHERE a."learner" = l."id")' if check else ""
        rows = await Attempt.raw(
            'INSERT INTO "uaa_attempt" ("learner", "uaa", "sequence", "status", "presented_on", "establishment", '
            '"updated_by", "updated_at", "version") '
            'SELECT l."id", u."id", 1, {}, NULL, {}, NULL, NULL, 1 FROM "learner" l '
            'JOIN "training_profile" p ON p."option" = l."option" '
            'JOIN "uaa" u ON u."profile" = p."id" AND u."year" = l."year" '
            f'WHERE l."id" IN ({placeholders}){held} RETURNING "id"',
            PENDING, establishment_id, *chunk,
        )
        added += len(rows)
    return added


# --- search ----------------------------------------------------------------------------------------------------

PAGE_SIZES = (25, 50, 100)
QUERY_MAX = 100
#: ``tri`` value → the column(s) sorted on (a closed list: nothing else reaches ORDER BY).
SORTS = {
    "nom": ("last_name", "Nom"),
    "prenom": ("first_name", "Prénom"),
    "sexe": ("sex", "Sexe"),
    "naissance": ("birth_date", "Date de naissance"),
    "cf": ("cf_number", "N° CF"),
    "annee": ("study_year", "Année d'études"),
    "obg": ("option.code", "OBG"),
}
DEFAULT_SORT = "nom"


def _page_number(raw: str | None) -> int:
    raw = (raw or "").strip()
    if not raw.isdigit() or len(raw) > 6:
        return 1
    return max(1, int(raw))


@dataclass(frozen=True)
class SearchCriteria:
    """The search criteria, all kept in the URL: ``annee``, ``implantation``, ``etudes``, ``obg``, ``q``, ``tri``,
    ``ordre``, ``page``, ``taille``."""

    school_year: str = ""
    implantation: int | None = None
    study_year: str = ""
    option: str = ""
    q: str = ""
    sort: str = DEFAULT_SORT
    order: str = "asc"
    page: int = 1
    size: int = PAGE_SIZES[0]

    def params(self, **overrides) -> list[tuple[str, str]]:
        """The URL parameters (defaults left out), with ``overrides`` (same names as the fields)."""
        c = replace(self, **overrides) if overrides else self
        params: list[tuple[str, str]] = []
        if c.school_year:
            params.append(("annee", c.school_year))
        if c.implantation is not None:
            params.append(("implantation", str(c.implantation)))
        if c.study_year:
            params.append(("etudes", c.study_year))
        if c.option:
            params.append(("obg", c.option))
        if c.q:
            params.append(("q", c.q))
        if c.sort != DEFAULT_SORT or c.order != "asc":
            params += [("tri", c.sort), ("ordre", c.order)]
        if c.size != PAGE_SIZES[0]:
            params.append(("taille", str(c.size)))
        if c.page > 1:
            params.append(("page", str(c.page)))
        return params

    def url(self, **overrides) -> str:
        """``/uaa/recherche`` with these criteria."""
        query = urlencode(self.params(**overrides))
        return "/uaa/recherche" + (f"?{query}" if query else "")

    def page_base(self) -> str:
        """The URL without the page, ready for ``page=N`` (ends with ``?`` or ``&``)."""
        query = urlencode(self.params(page=1))
        return "/uaa/recherche?" + (f"{query}&" if query else "")

    def sort_url(self, column: str) -> str:
        """The link of a column header: sort on it (ascending), or flip the order if it is already the sort."""
        order = "desc" if self.sort == column and self.order == "asc" else "asc"
        return self.url(sort=column, order=order, page=1)

    def aria_sort(self, column: str) -> str | None:
        """``ascending``/``descending`` for the sorted column, None for the others."""
        if self.sort != column:
            return None
        return "ascending" if self.order == "asc" else "descending"


def parse_search(annee: str | None = None, implantation: str | None = None, etudes: str | None = None,
                 obg: str | None = None, q: str | None = None, tri: str | None = None, ordre: str | None = None,
                 page: str | None = None, taille: str | None = None) -> SearchCriteria:
    """Read the criteria leniently: a malformed value falls back to its default."""
    school_year = (annee or "").strip()
    if not SCHOOL_YEAR_RE.match(school_year):
        school_year = ""
    raw_implantation = (implantation or "").strip()
    implantation_id = int(raw_implantation) if raw_implantation.isdigit() and len(raw_implantation) <= 9 else None
    size = int(taille) if (taille or "").strip() in {str(s) for s in PAGE_SIZES} else PAGE_SIZES[0]
    return SearchCriteria(
        school_year=school_year,
        implantation=implantation_id,
        study_year=" ".join((etudes or "").split())[:20],
        option=(obg or "").strip()[:10],
        q=" ".join((q or "").split())[:QUERY_MAX],
        sort=tri if tri in SORTS else DEFAULT_SORT,
        order="desc" if ordre == "desc" else "asc",
        page=_page_number(page),
        size=size,
    )


@dataclass
class SearchChoices:
    """What the criteria lists offer: the establishment's school years (newest first), implantations, years of
    study and options present."""

    school_years: list[str] = field(default_factory=list)
    implantations: list[dict] = field(default_factory=list)
    study_years: list[str] = field(default_factory=list)
    options: list[dict] = field(default_factory=list)


@dataclass
class LearnerRow:
    """One learner as the result table shows it."""

    id: int
    establishment: str  # FASE (or UAI) number
    last_name: str
    first_name: str
    sex: str
    birth_date: date | None
    cf_number: str
    study_year: str
    option_code: str
    option_label: str


@dataclass
class SearchResult:
    """One page of results with what the page needs to show the criteria."""

    rows: list[LearnerRow]
    total: int
    page: int
    pages: int
    criteria: SearchCriteria
    choices: SearchChoices
    establishment_label: str
    establishment_code: str

    @property
    def first(self) -> int:
        """Rank of the first row shown (0 when there is none)."""
        return (self.page - 1) * self.criteria.size + 1 if self.total else 0

    @property
    def last(self) -> int:
        """Rank of the last row shown."""
        return min(self.total, self.page * self.criteria.size)


def switchable_affiliations(user: CurrentUser) -> list:
    """The person's affiliations that may search learners (one per establishment): the « ID FASE » choice."""
    return [a for a in user.affiliations if a.establishment_id and allowed(a.profile, "uaa.search")]


def _contains(text: str) -> tuple[str, list[str]]:
    """Name, first name or N° CF contains ``text``, case ignored (``%`` and ``_`` taken literally): a condition on
    the learner ``l`` and its parameters (the text is only ever a parameter).

    SQLite's LIKE (and PostgreSQL's ILIKE under a C locale) ignores the case of ASCII letters only: a word with
    other letters is also tried as typed, in lower case, in upper case and capitalised, so that « élodie » finds
    « Élodie ». A word in ASCII needs no variant (three conditions a row instead of nine or twelve).
    """
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    variants = [escaped] if escaped.isascii() else list(
        dict.fromkeys((escaped, escaped.lower(), escaped.upper(), escaped.capitalize())))
    operator = "LIKE" if is_sqlite() else "ILIKE"
    columns = ("l.last_name", "l.first_name", "l.cf_number")
    sql = " OR ".join(f"{name} {operator} {{}} ESCAPE '\\'" for name in columns for _ in variants)
    return f"({sql})", [f"%{variant}%" for _ in columns for variant in variants]


# The search's reads, written once: Piccolo rebuilt the same joined selects on every view of /uaa/recherche, and
# building them cost more CPU than running them. Only fixed fragments of SQL are put together below (the sort
# comes from :data:`_SORT_SQL`, a closed list); every value, the searched text included, is a parameter.
# ``birth_date`` is a plain column reference: SQLite keeps its declared type (see also :func:`_as_date`).
_IMPLANTATIONS_SQL = "SELECT id, fase, name FROM implantation WHERE establishment = {} ORDER BY fase"
_COMBOS_SQL = """
SELECT DISTINCT l.school_year AS school_year, l.study_year AS study_year, o.code AS code, o.label AS label
FROM learner l LEFT JOIN uaa_option o ON o.id = l.option
WHERE l.establishment = {} AND l.active = {}
"""
_SEARCH_COUNT_SQL = "SELECT COUNT(*) AS count FROM learner l WHERE "
_SEARCH_PAGE_SQL = """
SELECT l.id AS id, l.last_name AS last_name, l.first_name AS first_name, l.sex AS sex, l.birth_date AS birth_date,
       l.cf_number AS cf_number, l.study_year AS study_year, o.code AS option_code, o.label AS option_label,
       e.fase AS fase, e.uai AS uai
FROM learner l
LEFT JOIN uaa_option o ON o.id = l.option
LEFT JOIN establishment e ON e.id = l.establishment
WHERE """
#: :data:`SORTS`' columns → SQL (nothing else reaches ORDER BY).
_SORT_SQL = {
    "last_name": "l.last_name", "first_name": "l.first_name", "sex": "l.sex", "birth_date": "l.birth_date",
    "cf_number": "l.cf_number", "study_year": "l.study_year", "option.code": "o.code",
}
#: The ties, after the sorted column (which is not repeated).
_TIES_SQL = ("l.last_name", "l.first_name", "l.id")


async def search_choices(establishment_id: int, stamp: int | None = None) -> SearchChoices:
    """The lists of the criteria form (two queries), kept per process against the school's ``uaa_stamp`` when
    the caller read it (``stamp``; :mod:`portal.uaa.stamps`): triggers move it whenever a learner, an
    implantation of the school or an option's label changes. Callers must not modify what they get."""
    if stamp is None:
        return await _read_choices(establishment_id)
    return await stamps.kept("search_choices", establishment_id, stamp, _read_choices)


async def _read_choices(establishment_id: int) -> SearchChoices:
    choices = SearchChoices()
    choices.implantations = await Implantation.raw(_IMPLANTATIONS_SQL, establishment_id)
    combos = await Learner.raw(_COMBOS_SQL, establishment_id, True)
    choices.school_years = sorted({row["school_year"] for row in combos if row["school_year"]}, reverse=True)
    choices.study_years = sorted({row["study_year"] for row in combos if row["study_year"]})
    options = {row["code"]: row["label"] for row in combos if row["code"]}
    choices.options = [{"code": code, "label": options[code]} for code in sorted(options)]
    return choices


def settle(criteria: SearchCriteria, choices: SearchChoices) -> SearchCriteria:
    """Criteria the lists can show: an unknown value becomes « all »; no school year means the latest."""
    school_year = criteria.school_year if criteria.school_year in choices.school_years else (
        choices.school_years[0] if choices.school_years else "")
    implantation = criteria.implantation if criteria.implantation in {i["id"] for i in choices.implantations} else None
    study_year = criteria.study_year if criteria.study_year in choices.study_years else ""
    option = criteria.option if criteria.option in {o["code"] for o in choices.options} else ""
    return replace(criteria, school_year=school_year, implantation=implantation, study_year=study_year, option=option)


async def search_learners(user: CurrentUser, criteria: SearchCriteria) -> SearchResult:
    """One page of the learners of the establishment acted for: four queries whatever the number of rows, two
    once the criteria lists are kept (:func:`search_choices`)."""
    establishment_id = establishment_of(user)
    choices = await search_choices(establishment_id, user.uaa_stamp)
    criteria = settle(criteria, choices)
    conditions = ["l.establishment = {}", "l.active = {}"]
    args: list = [establishment_id, True]
    if criteria.school_year:
        conditions.append("l.school_year = {}")
        args.append(criteria.school_year)
    if criteria.implantation is not None:
        conditions.append("l.implantation = {}")
        args.append(criteria.implantation)
    if criteria.study_year:
        conditions.append("l.study_year = {}")
        args.append(criteria.study_year)
    if criteria.option:
        conditions.append("l.option IN (SELECT id FROM uaa_option WHERE code = {})")
        args.append(criteria.option)
    for word in criteria.q.split()[:5]:
        sql, values = _contains(word)
        conditions.append(sql)
        args += values
    where = " AND ".join(conditions)

    # Counted apart: COUNT(*) OVER () in the page's select was measured 2.5 times slower than the two statements
    # (SQLite then builds every matching row, joins included, before it sorts).
    total = (await Learner.raw(_SEARCH_COUNT_SQL + where, *args))[0]["count"]
    pages = max(1, -(-total // criteria.size))
    criteria = replace(criteria, page=min(criteria.page, pages))

    column_name, _label = SORTS[criteria.sort]
    column = _SORT_SQL[column_name]
    direction = " ASC" if criteria.order == "asc" else " DESC"
    order = ", ".join(name + direction for name in (column, *(t for t in _TIES_SQL if t != column)))
    data = await Learner.raw(f"{_SEARCH_PAGE_SQL}{where}\nORDER BY {order}\nLIMIT {{}} OFFSET {{}}", *args,
                             criteria.size, (criteria.page - 1) * criteria.size)
    rows = [LearnerRow(id=d["id"], establishment=d["fase"] or d["uai"] or "", last_name=d["last_name"],
                       first_name=d["first_name"], sex=d["sex"], birth_date=_as_date(d["birth_date"]),
                       cf_number=d["cf_number"], study_year=d["study_year"], option_code=d["option_code"] or "",
                       option_label=d["option_label"] or "") for d in data]
    active = user.active
    return SearchResult(rows=rows, total=total, page=criteria.page, pages=pages, criteria=criteria, choices=choices,
                        establishment_label=active.establishment_name if active else "",
                        establishment_code=active.establishment_code if active else "")
