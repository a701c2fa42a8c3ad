"""The import of a school's learners (SPEC §5; CEPU guide §2.7). No Litestar here.

A school administrator or a direction uploads the school's list of learners as CSV; :mod:`portal.uaa.learner_csv`
checks every line first. A valid file is applied in one transaction: new learners are inserted (with one pending
attempt, *A encoder*, per UAA of their year's programme), existing learners of the establishment (same N° CF) are
updated, attempts are never changed or deleted. One history event tells what happened.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from portal.accounts.identity import CurrentUser
from portal.core.clock import today as today_local
from portal.core.db import atomic, query
from portal.directory.tables import Implantation
from portal.history.services import record
from portal.uaa.learner_csv import Fault, ImportRefused, LearnerLine, Parsed, parse_learners
from portal.uaa.rules import PENDING
from portal.uaa.tables import Learner, Option


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


BATCH = 500  # rows a statement of the import inserts or updates at the most


def _chunks(items: list, size: int = BATCH) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]



def as_date(value) -> date | None:
    """A date column's value as a date (SQLite hands raw SQL dates back as text)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


_COMPARED = ("last_name", "first_name", "sex", "birth_date", "study_year", "year", "option", "implantation",
             "school_year", "active")




async def import_learners(user: CurrentUser, data: bytes, filename: str = "",
                          today: date | None = None) -> ImportReport:
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
            before = {**current, "birth_date": as_date(current["birth_date"]), "active": bool(current["active"])}
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
        ids += [row["id"] for row in await query(sql, *args)]
    return ids


async def _update_learner(learner_id: int, values: dict) -> None:
    """Write the file's values over a learner and bump its version."""
    assignments = ", ".join(f'"{name}" = {{}}' for name in _UPDATED_COLUMNS)
    await query(f'UPDATE "learner" SET {assignments}, "version" = "version" + 1 WHERE "id" = {{}}',
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
        rows = await query(
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
