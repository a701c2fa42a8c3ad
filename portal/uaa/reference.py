"""The UAA reference data: options (OBG), training profiles and UAA, loaded from a documented TOML file.

The file (default ``portal/uaa/reference/uaa.toml``) explains its own format and sources in its header. Loading is
in three steps: :func:`read_reference` parses the file, :func:`validate` checks it and gives the entries (pure, French
errors that name the faulty entry), :func:`load_reference` upserts them in one transaction — options by code,
profiles by code within their option, UAA by code within their profile — updating only what differs and never
deleting. :func:`weeks_flags` is the decree's rule (art. 3 § 1er): per profile and school year, the UAA durations
add up to 25–27 weeks; a profile outside that range is flagged in the report, not refused.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from portal.core.db import atomic
from portal.history.services import SYSTEM, Actor, record
from portal.uaa.tables import Option, TrainingProfile, Uaa

DEFAULT_PATH = Path(__file__).resolve().parent / "reference" / "uaa.toml"
FORMAT_VERSION = 1
YEARS = (4, 5, 6)
WEEKS_MIN, WEEKS_MAX = 25, 27
UAA_WEEKS_MAX = 40
CODE_RE = re.compile(r"^\d{1,10}$")
BATCH = 500


class ReferenceDataError(ValueError):
    """The reference file is malformed; ``messages`` lists every fault, in French."""

    def __init__(self, messages: list[str]):
        super().__init__("\n".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class UaaEntry:
    """A UAA of the file."""

    code: str
    label: str
    weeks: int
    year: int
    position: int
    invented: bool = False


@dataclass(frozen=True)
class ProfileEntry:
    """A training profile of the file, with its UAA."""

    code: str
    label: str
    short_label: str
    uaa: tuple[UaaEntry, ...] = ()


@dataclass(frozen=True)
class OptionEntry:
    """An option (OBG) of the file, with its profiles."""

    code: str
    label: str
    demo: bool = False
    profiles: tuple[ProfileEntry, ...] = ()


# --- the rule of the decree (pure) --------------------------------------------------------------------------


def yearly_weeks(uaa: Iterable[UaaEntry | dict]) -> dict[int, int]:
    """Weeks per school year of a profile's UAA: ``{4: 26, 5: 26, 6: 26}``."""
    totals: dict[int, int] = {}
    for item in uaa:
        year, weeks = (item["year"], item["weeks"]) if isinstance(item, dict) else (item.year, item.weeks)
        totals[year] = totals.get(year, 0) + weeks
    return dict(sorted(totals.items()))


def weeks_flags(uaa: Iterable[UaaEntry | dict], profile: str = "") -> list[str]:
    """The years whose UAA add up to less than 25 or more than 27 weeks, as French warnings (empty when sound)."""
    name = f"profil {profile} : " if profile else ""
    return [
        f"{name}les UAA de {year}e année totalisent {total} semaine(s), hors de la plage de {WEEKS_MIN} à "
        f"{WEEKS_MAX} semaines."
        for year, total in yearly_weeks(uaa).items() if not WEEKS_MIN <= total <= WEEKS_MAX
    ]


# --- reading and checking (pure) ----------------------------------------------------------------------------


def read_reference(path: Path | str | None = None) -> dict:
    """The parsed TOML file; raises :class:`ReferenceDataError` when it cannot be read."""
    path = Path(path) if path else DEFAULT_PATH
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError:
        raise ReferenceDataError([f"Le fichier de référence « {path} » est introuvable ou illisible."]) from None
    except tomllib.TOMLDecodeError as error:
        raise ReferenceDataError([f"Le fichier de référence « {path.name} » n'est pas un TOML valide : {error}."]) \
            from None


def _text(entry: dict, key: str, limit: int, where: str, errors: list[str], *, required: bool = True) -> str:
    value = entry.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        errors.append(f"{where} : « {key} » manquant ou vide.")
        return ""
    value = value.strip()
    if len(value) > limit:
        errors.append(f"{where} : « {key} » trop long ({len(value)} caractères, au plus {limit}).")
    return value


def _code(entry: dict, key: str, where: str, errors: list[str]) -> str:
    value = entry.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not CODE_RE.match(value.strip()):
        errors.append(f"{where} : le code doit être un nombre de 1 à 10 chiffres (trouvé : {value!r}).")
        return ""
    return value.strip()


def _integer(entry: dict, key: str, where: str, errors: list[str], low: int, high: int) -> int:
    value = entry.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        errors.append(f"{where} : « {key} » doit être un nombre entier de {low} à {high} (trouvé : {value!r}).")
        return low
    return value


def _flag(entry: dict, key: str, where: str, errors: list[str]) -> bool:
    value = entry.get(key, False)
    if not isinstance(value, bool):
        errors.append(f"{where} : « {key} » doit valoir true ou false (trouvé : {value!r}).")
        return False
    return value


def _list(entry: dict, key: str, where: str, errors: list[str]) -> list[dict]:
    value = entry.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(item, dict) for item in value):
        errors.append(f"{where} : la liste « {key} » est absente ou vide.")
        return []
    return value


def _check_uaa(raw: dict, where: str, errors: list[str]) -> UaaEntry:
    return UaaEntry(
        code=_code(raw, "code", where, errors),
        label=_text(raw, "label", 255, where, errors),
        weeks=_integer(raw, "weeks", where, errors, 1, UAA_WEEKS_MAX),
        year=_integer(raw, "year", where, errors, YEARS[0], YEARS[-1]),
        position=_integer(raw, "position", where, errors, 1, 999),
        invented=_flag(raw, "invented", where, errors),
    )


def _check_profile(raw: dict, where: str, errors: list[str]) -> ProfileEntry:
    code = _text(raw, "code", 20, where, errors)
    where = f"{where} « {code} »" if code else where
    label = _text(raw, "label", 255, where, errors)
    short_label = _text(raw, "short_label", 60, where, errors)
    entries, codes, positions = [], set(), set()
    for index, item in enumerate(_list(raw, "uaa", where, errors), start=1):
        code_text = item.get("code")
        uaa_where = f"{where}, UAA n° {index}" + (f" ({code_text})" if code_text else "")
        entry = _check_uaa(item, uaa_where, errors)
        if entry.code and entry.code in codes:
            errors.append(f"{uaa_where} : le code UAA {entry.code} figure deux fois dans le profil.")
        if entry.position in positions:
            errors.append(f"{uaa_where} : la position {entry.position} est déjà prise dans le profil.")
        codes.add(entry.code)
        positions.add(entry.position)
        entries.append(entry)
    return ProfileEntry(code=code, label=label, short_label=short_label, uaa=tuple(entries))


def validate(data: dict) -> list[OptionEntry]:
    """The file's options, profiles and UAA, checked; raises :class:`ReferenceDataError` listing every fault."""
    errors: list[str] = []
    meta = data.get("meta")
    if not isinstance(meta, dict) or meta.get("version") != FORMAT_VERSION:
        errors.append(f"[meta] : la version du format doit être {FORMAT_VERSION}.")
    options, codes = [], set()
    for index, raw in enumerate(_list(data, "options", "Fichier", errors), start=1):
        code = _code(raw, "code", f"Option n° {index}", errors)
        where = f"Option {code}" if code else f"Option n° {index}"
        if code and code in codes:
            errors.append(f"{where} : l'option figure deux fois dans le fichier.")
        codes.add(code)
        label = _text(raw, "label", 255, where, errors)
        demo = _flag(raw, "demo", where, errors)
        profiles, profile_codes = [], set()
        for p_index, p_raw in enumerate(_list(raw, "profiles", where, errors), start=1):
            profile = _check_profile(p_raw, f"{where}, profil n° {p_index}", errors)
            if profile.code and profile.code in profile_codes:
                errors.append(f"{where}, profil « {profile.code} » : le profil figure deux fois dans l'option.")
            profile_codes.add(profile.code)
            profiles.append(profile)
        options.append(OptionEntry(code=code, label=label, demo=demo, profiles=tuple(profiles)))
    if errors:
        raise ReferenceDataError(errors)
    return options


def warnings(options: list[OptionEntry]) -> list[str]:
    """The weeks-per-year flags of every profile."""
    found = []
    for option in options:
        for profile in option.profiles:
            found.extend(weeks_flags(profile.uaa, f"{option.code} « {profile.short_label} »"))
    return found


# --- loading (database) -------------------------------------------------------------------------------------


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, changed: bool | None) -> None:
        if changed is None:
            self.created += 1
        elif changed:
            self.updated += 1
        else:
            self.unchanged += 1


@dataclass
class _Report:
    options: _Counts = field(default_factory=_Counts)
    profiles: _Counts = field(default_factory=_Counts)
    uaa: _Counts = field(default_factory=_Counts)

    def as_dict(self) -> dict:
        return {name: vars(getattr(self, name)) for name in ("options", "profiles", "uaa")}


async def _update(table, row: dict, wanted: dict) -> bool:
    changes = {key: value for key, value in wanted.items() if row[key] != value}
    if changes:
        await table.update(changes).where(table.id == row["id"])
    return bool(changes)


async def load_reference(path: Path | str | None = None, actor: Actor | None = SYSTEM) -> dict:
    """Load the reference file idempotently; returns the report.

    The report: ``{"options": {"created", "updated", "unchanged"}, "profiles": {…}, "uaa": {…},
    "warnings": [...], "source": file name}``. Raises :class:`ReferenceDataError` (nothing written) when the file
    is malformed. A load that changes something is recorded in the history as done by ``actor`` (None: not
    recorded, for a caller that records its own event, like the demo).
    """
    path = Path(path) if path else DEFAULT_PATH
    options = validate(read_reference(path))
    report = _Report()
    async with atomic():
        existing_options = {row["code"]: row for row in await Option.select(Option.id, Option.code, Option.label,
                                                                             Option.demo)}
        existing_profiles = {(row["option"], row["code"]): row for row in await TrainingProfile.select(
            TrainingProfile.id, TrainingProfile.option, TrainingProfile.code, TrainingProfile.label,
            TrainingProfile.short_label)}
        existing_uaa = {(row["profile"], row["code"]): row for row in await Uaa.select(
            Uaa.id, Uaa.profile, Uaa.code, Uaa.label, Uaa.weeks, Uaa.year, Uaa.position, Uaa.invented)}
        new_uaa = []
        for option in options:
            wanted = {"label": option.label, "demo": option.demo}
            row = existing_options.get(option.code)
            if row is None:
                option_id = (await Option.insert(Option(code=option.code, **wanted)).returning(Option.id))[0]["id"]
                report.options.add(None)
            else:
                option_id = row["id"]
                report.options.add(await _update(Option, row, wanted))
            for profile in option.profiles:
                wanted = {"label": profile.label, "short_label": profile.short_label}
                row = existing_profiles.get((option_id, profile.code))
                if row is None:
                    profile_id = (await TrainingProfile.insert(TrainingProfile(
                        option=option_id, code=profile.code, **wanted)).returning(TrainingProfile.id))[0]["id"]
                    report.profiles.add(None)
                else:
                    profile_id = row["id"]
                    report.profiles.add(await _update(TrainingProfile, row, wanted))
                for uaa in profile.uaa:
                    wanted = {"label": uaa.label, "weeks": uaa.weeks, "year": uaa.year, "position": uaa.position,
                              "invented": uaa.invented}
                    row = existing_uaa.get((profile_id, uaa.code))
                    if row is None:
                        new_uaa.append(Uaa(profile=profile_id, code=uaa.code, **wanted))
                        report.uaa.add(None)
                    else:
                        report.uaa.add(await _update(Uaa, row, wanted))
        for start in range(0, len(new_uaa), BATCH):
            await Uaa.insert(*new_uaa[start:start + BATCH])
        result = {**report.as_dict(), "warnings": warnings(options), "source": path.name}
        changed = sum(counts["created"] + counts["updated"] for counts in report.as_dict().values())
        if changed and actor is not None:
            await record(actor, "uaa_reference", None, "chargement", after=result,
                         summary=f"Référentiel UAA chargé ({path.name}) : {changed} création(s) ou mise(s) à jour")
    return result
