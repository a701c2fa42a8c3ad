"""Import of the FWB establishment directory (*fichier signalétique des établissements*, Open Data Wallonie-Bruxelles).

The file is a CSV (UTF-8, comma; a semicolon is accepted too), plain or gzipped, one line per implantation. Each
line names its establishment, its organising body (PO) and its zone (*bassin*), so the same establishment and PO
come back on many lines. The file's quirks:

- FASE numbers are written as floats (``"10.0"``): they are stored as ``"10"``;
- besides the ten zones, a few lines have the *bassin* ``"Hors zones"``: it is imported as a zone of that name;
- an implantation may be listed under two establishments (a CEFA and its host school share a site): the
  implantation belongs to the establishment with the lowest FASE number, and the report notes it.

The import runs in two steps. :func:`parse` reads and checks every line (pure: no I/O); a line that is malformed
or contradicts an earlier one is rejected with its line number and the reason, in French. :func:`import_directory`
then writes everything in one transaction, or nothing at all when a line was rejected. It upserts zones, organising
bodies, establishments and implantations by name or FASE number, updating only the values that differ, inserting
by batches; it never deletes. A second run of the same file therefore reports nothing created and nothing updated.
FASE numbers held by demo data (99xxx) are never overwritten: a file line that would touch one is rejected.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import time
import unicodedata
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from piccolo.engine.postgres import PostgresEngine

from portal.conventions.services import sync_poles_of
from portal.core.db import atomic, engine
from portal.directory.tables import Establishment, Implantation, OrganisingBody, Zone
from portal.history.services import SYSTEM, Actor, record
from portal.settings import ROOT

#: the directory as shipped next to the project (read-only test data of the workspace)
DEFAULT_PATH = ROOT.parent / "shared" / "data" / "fwb" / "Cartographie-Ecoles-FWB.csv.gz"
SOURCE_LABEL = "Cartographie des écoles FWB (Open Data Wallonie-Bruxelles)"

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # what may be sent through the web page
MAX_TEXT_BYTES = 100 * 1024 * 1024  # what a gzipped file may expand to
MAX_REJECTIONS_SHOWN = 200
BATCH = 500  # rows per INSERT statement
GZIP_MAGIC = b"\x1f\x8b"
DEMO_PREFIX_NOTE = "réservé aux données de démonstration"

#: keys used in the code → the file's column names
COLUMNS = {
    "est_fase": "N° FASE de l'établissement",
    "est_name": "Nom d'établissement",
    "teaching": "Type d'enseignement",
    "network": "Réseau",
    "est_city": "Localité de l'établissement",
    "zone": "Bassin",
    "imp_fase": "N° FASE de l'implantation",
    "imp_address": "Adresse de l'implantation",
    "imp_postcode": "Code postal de l'implantation",
    "imp_city": "Localité de l'implantation",
    "po_fase": "N° FASE du PO",
    "po_name": "Nom du PO",
}
OPTIONAL_COLUMNS = {"genre": "Genre"}

KINDS = ("zones", "organising_bodies", "establishments", "implantations")
KIND_LABELS = {
    "zones": "Zones (bassins)",
    "organising_bodies": "Pouvoirs organisateurs",
    "establishments": "Établissements",
    "implantations": "Implantations",
}

FASE_RE = re.compile(r"^(\d{1,10})(?:\.0+)?$")
LIMITS = {"est_name": 255, "po_name": 255, "network": 120, "est_city": 120, "zone": 120, "imp_address": 255,
          "imp_postcode": 10, "imp_city": 120}
FIELD_LABELS = {
    "est_name": "nom d'établissement", "po_name": "nom du PO", "network": "réseau",
    "est_city": "localité de l'établissement", "zone": "bassin", "imp_address": "adresse de l'implantation",
    "imp_postcode": "code postal de l'implantation", "imp_city": "localité de l'implantation",
}


class FwbFileError(ValueError):
    """The file as a whole cannot be read as the FWB directory (the message says why, in French)."""


# --- parsing (pure) -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZoneRow:
    """A zone (bassin) of the file."""

    name: str
    country: str = "BE"


@dataclass(frozen=True)
class BodyRow:
    """An organising body of the file."""

    fase: str
    name: str
    network: str


@dataclass(frozen=True)
class EstablishmentRow:
    """An establishment of the file (FASE of its PO and name of its zone)."""

    fase: str
    name: str
    kind: str
    city: str
    po_fase: str
    zone: str


@dataclass(frozen=True)
class ImplantationRow:
    """An implantation of the file (FASE of its establishment)."""

    fase: str
    establishment_fase: str
    name: str
    address: str
    postcode: str
    city: str


@dataclass(frozen=True)
class Rejection:
    """A line that is not imported: its number in the file (the header is line 1) and the reason."""

    line: int
    reason: str


@dataclass
class ParsedDirectory:
    """What :func:`parse` found: the entities by key, the line where each first appears, the rejected lines."""

    zones: dict[str, ZoneRow] = field(default_factory=dict)
    bodies: dict[str, BodyRow] = field(default_factory=dict)
    establishments: dict[str, EstablishmentRow] = field(default_factory=dict)
    implantations: dict[str, ImplantationRow] = field(default_factory=dict)
    first_line: dict[tuple[str, str], int] = field(default_factory=dict)
    rejected: list[Rejection] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lines: int = 0


def parse_fase(value: str) -> str | None:
    """A FASE number as the file writes it (``"10.0"``, ``"10"``) → ``"10"``; None when it is not one."""
    match = FASE_RE.match((value or "").strip())
    if not match:
        return None
    return str(int(match.group(1)))


def teaching_kind(teaching: str, genre: str = "") -> str:
    """``ordinaire`` or ``spécialisé``, from the *type d'enseignement* (``Primaire spécialisé``…) or the genre."""
    text = f"{teaching} {genre}".lower()
    return "spécialisé" if "spécialisé" in text or "specialise" in text else "ordinaire"


def _clean_header(name: str) -> str:
    name = unicodedata.normalize("NFC", name.replace("\ufeff", "")).replace("’", "'")
    return " ".join(name.split())


def decode(data: bytes) -> str:
    """The text of an uploaded or stored file: gzip is expanded, then UTF-8 is required. Raises FwbFileError."""
    if not data:
        raise FwbFileError("Le fichier est vide.")
    if data[:2] == GZIP_MAGIC:
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
                data = handle.read(MAX_TEXT_BYTES + 1)
        except (OSError, EOFError, zlib.error):
            raise FwbFileError("Le fichier compressé (gzip) est illisible ou incomplet.") from None
        if len(data) > MAX_TEXT_BYTES:
            raise FwbFileError("Le fichier décompressé est trop volumineux (plus de 100 Mo).")
        if not data:
            raise FwbFileError("Le fichier compressé ne contient rien.")
    if b"\x00" in data[:65536]:
        raise FwbFileError("Ce fichier n'est pas un fichier texte CSV (ni un CSV compressé en gzip).")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FwbFileError(
            "Le fichier n'est pas encodé en UTF-8 : enregistrez-le au format « CSV UTF-8 » puis recommencez."
        ) from None


def _header_map(header: list[str]) -> dict[str, int]:
    """Where each needed column is; raises FwbFileError naming the missing ones."""
    positions = {_clean_header(name): index for index, name in enumerate(header)}
    missing = [name for name in COLUMNS.values() if name not in positions]
    if missing:
        raise FwbFileError(
            "Ce fichier n'a pas les colonnes de l'annuaire FWB. Colonnes manquantes : "
            + ", ".join(f"« {name} »" for name in missing) + "."
        )
    found = {key: positions[name] for key, name in COLUMNS.items()}
    for key, name in OPTIONAL_COLUMNS.items():
        if name in positions:
            found[key] = positions[name]
    return found


def _delimiter(first_line: str) -> str:
    return ";" if first_line.count(";") > first_line.count(",") else ","


def _implantation_name(establishment: str, address: str) -> str:
    name = f"{establishment} — {address}" if address else establishment
    return name[:255]


def parse(text: str) -> ParsedDirectory:
    """Read and check the whole file; raises FwbFileError when it is not the directory at all.

    A malformed line (wrong number of columns, bad FASE number, empty name, value too long) or one that
    contradicts an earlier line about the same establishment, PO or implantation is rejected with its reason.
    """
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first))
    try:
        header = next(reader)
    except StopIteration:
        raise FwbFileError("Le fichier est vide.") from None
    except csv.Error:
        raise FwbFileError("La ligne d'en-tête du fichier est illisible.") from None
    where = _header_map(header)
    width = len(header)
    result = ParsedDirectory()
    # an implantation listed under several establishments: all of them, to attach it to the lowest FASE
    implantation_owners: dict[str, dict[str, ImplantationRow]] = {}
    previous_end = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            result.rejected.append(Rejection(previous_end + 1, f"ligne illisible ({error})."))
            previous_end = reader.line_num
            continue
        line = previous_end + 1
        previous_end = reader.line_num
        if not cells or all(not cell.strip() for cell in cells):
            continue
        result.lines += 1
        reason = _check_line(cells, width, where, line, result, implantation_owners)
        if reason:
            result.rejected.append(Rejection(line, reason))
    _attach_shared_implantations(result, implantation_owners)
    if result.lines == 0 and not result.rejected:
        raise FwbFileError("Le fichier ne contient aucune ligne de données après l'en-tête.")
    return result


def _check_line(cells: list[str], width: int, where: dict[str, int], line: int, result: ParsedDirectory,
                owners: dict[str, dict[str, ImplantationRow]]) -> str | None:
    """Add the line's entities to ``result``; returns the reason when the line is rejected."""
    if len(cells) != width:
        return f"{len(cells)} colonne(s) au lieu de {width}."
    value = {key: cells[index].strip() for key, index in where.items()}
    fases = {}
    for key, label in (("est_fase", "de l'établissement"), ("imp_fase", "de l'implantation"), ("po_fase", "du PO")):
        fases[key] = parse_fase(value[key])
        if fases[key] is None:
            shown = value[key] or "vide"
            return f"numéro FASE {label} invalide : « {shown} »."
    for key in ("est_name", "po_name", "zone"):
        if not value[key]:
            return f"{FIELD_LABELS[key]} manquant."
    for key, limit in LIMITS.items():
        if len(value[key]) > limit:
            return f"{FIELD_LABELS[key]} trop long ({len(value[key])} caractères, au plus {limit})."

    zone = ZoneRow(value["zone"])
    body = BodyRow(fases["po_fase"], value["po_name"], value["network"])
    establishment = EstablishmentRow(
        fase=fases["est_fase"], name=value["est_name"], kind=teaching_kind(value["teaching"], value.get("genre", "")),
        city=value["est_city"], po_fase=body.fase, zone=zone.name,
    )
    implantation = ImplantationRow(
        fase=fases["imp_fase"], establishment_fase=establishment.fase,
        name=_implantation_name(establishment.name, value["imp_address"]), address=value["imp_address"],
        postcode=value["imp_postcode"], city=value["imp_city"],
    )

    known_body = result.bodies.get(body.fase)
    if known_body and known_body != body:
        return (f"le PO {body.fase} est décrit autrement à la ligne {result.first_line[('po', body.fase)]} "
                f"({_difference(known_body, body)}).")
    known_est = result.establishments.get(establishment.fase)
    if known_est and known_est != establishment:
        return (f"l'établissement {establishment.fase} est décrit autrement à la ligne "
                f"{result.first_line[('est', establishment.fase)]} ({_difference(known_est, establishment)}).")
    site = owners.get(implantation.fase)
    if site:
        known_imp = next(iter(site.values()))
        known_site = (known_imp.address, known_imp.postcode, known_imp.city)
        if known_site != (implantation.address, implantation.postcode, implantation.city):
            return (f"l'implantation {implantation.fase} a une autre adresse à la ligne "
                    f"{result.first_line[('imp', implantation.fase)]}.")

    result.zones.setdefault(zone.name, zone)
    result.first_line.setdefault(("zone", zone.name), line)
    result.bodies.setdefault(body.fase, body)
    result.first_line.setdefault(("po", body.fase), line)
    result.establishments.setdefault(establishment.fase, establishment)
    result.first_line.setdefault(("est", establishment.fase), line)
    owners.setdefault(implantation.fase, {}).setdefault(establishment.fase, implantation)
    result.first_line.setdefault(("imp", implantation.fase), line)
    return None


def _difference(before, after) -> str:
    labels = {"name": "nom", "network": "réseau", "kind": "type", "city": "localité", "po_fase": "PO",
              "zone": "bassin"}
    changed = [labels.get(name, name) for name in before.__dataclass_fields__
               if getattr(before, name) != getattr(after, name)]
    return ", ".join(changed)


def _attach_shared_implantations(result: ParsedDirectory, owners: dict[str, dict[str, ImplantationRow]]) -> None:
    for fase, by_establishment in owners.items():
        keys = sorted(by_establishment, key=int)
        result.implantations[fase] = by_establishment[keys[0]]
        if len(keys) > 1:
            result.notes.append(
                f"L'implantation {fase} figure sous les établissements {', '.join(keys)} : "
                f"elle est rattachée à l'établissement {keys[0]}."
            )


# --- import (database) --------------------------------------------------------------------------------------


@dataclass
class Counts:
    """Created, updated and unchanged rows of one kind."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict:
        """Plain values, for the history."""
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@dataclass
class ImportReport:
    """What an import did (or would have done): counts per kind, rejected lines, notes."""

    source: str
    lines: int = 0
    counts: dict[str, Counts] = field(default_factory=lambda: {kind: Counts() for kind in KINDS})
    rejected: list[Rejection] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    applied: bool = False
    seconds: float = 0.0
    error: str | None = None
    poles_synced: int = 0  # poles whose instruments were brought in line because a school changed PO
    frozen_conventions: list[str] = field(default_factory=list)  # validated ones the PO changes no longer match

    @property
    def ok(self) -> bool:
        """True when the file was imported."""
        return self.applied and not self.rejected and self.error is None

    @property
    def changed(self) -> int:
        """Rows created or updated, all kinds together."""
        return sum(c.created + c.updated for c in self.counts.values())

    def rows(self) -> list[dict]:
        """One row per kind, for the report's table."""
        return [{"kind": kind, "label": KIND_LABELS[kind], **self.counts[kind].as_dict(),
                 "total": self.counts[kind].created + self.counts[kind].updated + self.counts[kind].unchanged}
                for kind in KINDS]

    def as_dict(self) -> dict:
        """Counts and rejections as plain values (history, command line)."""
        return {
            "source": self.source, "lines": self.lines, "applied": self.applied,
            **{kind: self.counts[kind].as_dict() for kind in KINDS},
            "rejected": len(self.rejected), "notes": len(self.notes), "poles_synced": self.poles_synced,
            "frozen_conventions": self.frozen_conventions,
        }

    def summary(self) -> str:
        """One French sentence."""
        if self.error:
            return f"Import refusé : {self.error}"
        if self.rejected:
            return (f"Import refusé : {len(self.rejected)} ligne(s) rejetée(s) sur {self.lines}. "
                    "Rien n'a été enregistré.")
        parts = [f"{KIND_LABELS[k].lower()} : {c.created} créé(s), {c.updated} mis à jour, {c.unchanged} inchangé(s)"
                 for k, c in self.counts.items()]
        sentence = f"Import de l'annuaire FWB ({self.lines} lignes) — " + " ; ".join(parts) + "."
        if self.poles_synced:
            sentence += (f" Des écoles ont changé de PO : les conventions de {self.poles_synced} pôle(s) ont été "
                         "remises en accord avec leurs écoles.")
        if self.frozen_conventions:
            sentence += (" Conventions validées qui ne correspondent plus aux PO de leurs écoles (une demande de "
                         "modification les change) : " + " ; ".join(self.frozen_conventions) + ".")
        return sentence

    def short_summary(self) -> str:
        """The counts in a few words (the history keeps 255 characters)."""
        short = {"zones": "zones", "organising_bodies": "PO", "establishments": "établissements",
                 "implantations": "implantations"}
        parts = [f"{short[k]} {c.created}/{c.updated}/{c.unchanged}" for k, c in self.counts.items()]
        return (f"Import de l'annuaire FWB ({self.source[:60]}) — créés/mis à jour/inchangés : "
                + " ; ".join(parts))


async def import_file(path: Path | str | None = None, actor: Actor = SYSTEM) -> ImportReport:
    """Import the directory file at ``path`` (default: the shared copy of the FWB file)."""
    path = Path(path) if path else DEFAULT_PATH
    try:
        data = path.read_bytes()
    except OSError:
        return ImportReport(source=path.name, error=f"Le fichier « {path} » est introuvable ou illisible.")
    return await import_directory(data, actor=actor, source=path.name)


async def import_directory(data: bytes, actor: Actor = SYSTEM, source: str = "") -> ImportReport:
    """Check the whole file, then write it all in one transaction (nothing when a line is rejected)."""
    started = time.perf_counter()
    report = ImportReport(source=source)
    try:
        parsed = parse(decode(data))
    except FwbFileError as error:
        report.error = str(error)
        return report
    report.lines, report.notes = parsed.lines, parsed.notes
    if parsed.rejected:
        report.rejected = parsed.rejected
        report.seconds = time.perf_counter() - started
        return report  # nothing is written
    async with atomic():
        await _serialise_imports()
        rejected = await _demo_collisions(parsed)
        if rejected:
            report.rejected = rejected
        else:
            await _write(parsed, report, actor)
            report.applied = True
            await record(actor, "directory_import", None, "import", after=report.as_dict(),
                         summary=report.short_summary())
    report.seconds = time.perf_counter() - started
    return report


async def _serialise_imports() -> None:
    """On PostgreSQL, one import at a time (SQLite's write transaction already is exclusive)."""
    if isinstance(engine(), PostgresEngine):
        await engine().run_ddl("SELECT pg_advisory_xact_lock(4207301)")


async def _demo_collisions(parsed: ParsedDirectory) -> list[Rejection]:
    """Lines that would overwrite demo establishments, their PO or implantations (FASE numbers 99xxx)."""
    demo = await Establishment.select(Establishment.id, Establishment.fase, Establishment.organising_body.fase).where(
        Establishment.demo == True)  # noqa: E712
    demo_est = {row["fase"] for row in demo if row["fase"]}
    demo_po = {row["organising_body.fase"] for row in demo if row["organising_body.fase"]}
    demo_imp = set()
    if demo:
        rows = await Implantation.select(Implantation.fase).where(
            Implantation.establishment.is_in([row["id"] for row in demo]))
        demo_imp = {row["fase"] for row in rows if row["fase"]}
    rejected = []
    for kind, keys, label in (("est", demo_est & set(parsed.establishments), "de l'établissement"),
                              ("po", demo_po & set(parsed.bodies), "du PO"),
                              ("imp", demo_imp & set(parsed.implantations), "de l'implantation")):
        for key in sorted(keys, key=int):
            rejected.append(Rejection(parsed.first_line[(kind, key)],
                                      f"le numéro FASE {label} {key} est {DEMO_PREFIX_NOTE}."))
    return sorted(rejected, key=lambda r: r.line)


async def _insert(table, rows: list) -> None:
    for start in range(0, len(rows), BATCH):
        await table.insert(*rows[start:start + BATCH])


async def _upsert(table, key_column, fields: tuple[str, ...], wanted: dict[str, dict],
                  counts: Counts, changed: dict[int, set[str]] | None = None) -> dict[str, int]:
    """Insert the missing rows, update the differing ones; returns key → id for every row of the table.

    ``wanted`` maps each key of the file to the values of ``fields`` it should have; ``changed``, when given,
    receives the id of each updated row with the names of the fields that changed.
    """
    key_name = key_column._meta.name
    columns = [table.id, key_column, *[getattr(table, name) for name in fields]]
    existing = {row[key_name]: row for row in await table.select(*columns).where(key_column.is_not_null())}
    missing = []
    for key, values in wanted.items():
        row = existing.get(key)
        if row is None:
            missing.append(table(**{key_name: key, **values}))
            counts.created += 1
            continue
        changes = {name: value for name, value in values.items() if row[name] != value}
        if changes:
            await table.update(changes).where(table.id == row["id"])
            counts.updated += 1
            if changed is not None:
                changed[row["id"]] = set(changes)
        else:
            counts.unchanged += 1
    if not missing:
        return {key: row["id"] for key, row in existing.items()}
    await _insert(table, missing)
    rows = await table.select(table.id, key_column).where(key_column.is_not_null())
    return {row[key_name]: row["id"] for row in rows}


async def _write(parsed: ParsedDirectory, report: ImportReport, actor: Actor) -> None:
    counts = report.counts
    changed_establishments: dict[int, set[str]] = {}
    zone_ids = await _upsert(Zone, Zone.name, ("country",),
                             {name: {"country": z.country} for name, z in parsed.zones.items()}, counts["zones"])
    body_ids = await _upsert(OrganisingBody, OrganisingBody.fase, ("name", "network"),
                             {fase: {"name": b.name, "network": b.network} for fase, b in parsed.bodies.items()},
                             counts["organising_bodies"])
    est_ids = await _upsert(
        Establishment, Establishment.fase, ("country", "name", "kind", "city", "organising_body", "zone"),
        {fase: {"country": "BE", "name": e.name, "kind": e.kind, "city": e.city,
                "organising_body": body_ids[e.po_fase], "zone": zone_ids[e.zone]}
         for fase, e in parsed.establishments.items()},
        counts["establishments"], changed_establishments,
    )
    await _upsert(
        Implantation, Implantation.fase, ("establishment", "name", "address", "postcode", "city"),
        {fase: {"establishment": est_ids[i.establishment_fase], "name": i.name, "address": i.address,
                "postcode": i.postcode, "city": i.city} for fase, i in parsed.implantations.items()},
        counts["implantations"],
    )
    # A pole's instruments rest on each school's PO: those of the poles whose schools moved to another PO follow
    # here, in the import's transaction (the pole page only reads them).
    moved = {est_id for est_id, fields in changed_establishments.items() if "organising_body" in fields}
    synced = await sync_poles_of(moved, actor)
    report.poles_synced, report.frozen_conventions = synced.changed, synced.frozen


async def directory_counts() -> dict[str, int]:
    """How many zones, PO, establishments (Belgian) and implantations the directory holds."""
    return {
        "zones": await Zone.count().where(Zone.country == "BE"),
        "organising_bodies": await OrganisingBody.count(),
        "establishments": await Establishment.count().where(Establishment.country == "BE"),
        "implantations": await Implantation.count(),
    }
