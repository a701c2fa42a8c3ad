"""Pure rules of the grid and of the lists of competencies (no database, no web).

The six levels of a grid cell (CERISE PRO guide §3.6.2), each with a letter typed to set it and a colour class;
the screens always show the letter and the words, never the colour alone. A cell may also be empty (not yet
evaluated). :func:`plan_cell` decides what a cell save does under the version rule; :func:`move` reorders a list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from portal.core.forms import INCOMPLETE_FORM, form_int

EMPTY = ""


@dataclass(frozen=True)
class Level:
    """A level of the grid: its code (the letter typed), label and description."""

    code: str
    label: str
    description: str
    css: str


LEVELS: tuple[Level, ...] = (
    Level("R", "Réussite totale", "Réussite complète ou quasi complète, d'un bon niveau par rapport à ce qui est "
                                  "demandé.", "lvl-r"),
    Level("P", "Réussite partielle", "Niveau suffisant par rapport à l'attendu pour réussir dans les situations où "
                                     "cette ressource servira.", "lvl-p"),
    Level("E", "En cours d'acquisition", "Une partie de la tâche est accomplie, avec des lacunes qui risquent "
                                         "d'empêcher la réussite.", "lvl-e"),
    Level("T", "Trop d'erreurs", "La notion demande une reprise complète.", "lvl-t"),
    Level("N", "Non évaluable", "Item qui n'a pas pu être évalué lors de cette séance, l'apprenant étant présent.",
          "lvl-n"),
    Level("A", "Absent", "Apprenant absent lors de cette évaluation.", "lvl-a"),
)
BY_CODE = {level.code: level for level in LEVELS}
CODES = frozenset(BY_CODE)


class GridRuleError(ValueError):
    """A value the grid refuses (French message)."""


def parse_level(raw: str | None) -> str:
    """The level code of a form value: one of the six letters (any case) or empty to clear the cell."""
    value = (raw or "").strip().upper()
    if value == EMPTY or value in CODES:
        return value
    raise GridRuleError("Niveau inconnu : choisissez Réussite totale (R), Réussite partielle (P), En cours "
                        "d'acquisition (E), Trop d'erreurs (T), Non évaluable (N), Absent (A) ou rien.")


def parse_shown(raw: str | None) -> tuple[str, int]:
    """What a cell's form showed, sent as ``LEVEL.VERSION`` (``R.3``; ``.0`` for a cell never evaluated): the
    level and the version. Anything else is refused (a form from an older page, or tampered with)."""
    level, dot, version = (raw or "").strip().partition(".")
    number = form_int(version) if dot else None
    if number is None:
        raise GridRuleError(INCOMPLETE_FORM)
    return parse_level(level), number


def level_label(code: str) -> str:
    """The words of a level code (« Non évalué » for an empty cell)."""
    level = BY_CODE.get(code)
    return level.label if level else "Non évalué"


@dataclass(frozen=True)
class CellPlan:
    """What a cell save does: ``write`` (the new level), ``stale`` (refused), or nothing."""

    write: bool
    stale: bool
    level: str


def plan_cell(current_level: str, current_version: int, wanted: str, before: str, expected_version: int) -> CellPlan:
    """Decide a cell save.

    ``before`` and ``expected_version`` are what the form showed; ``current_*`` what the database holds (version 0
    for a cell never saved). Unchanged by the person (``wanted == before``): nothing to do. Same value as now:
    nothing to do, whatever the version. Otherwise a save based on another version than the current one is stale.
    """
    if wanted == before or wanted == current_level:
        return CellPlan(write=False, stale=False, level=current_level)
    if expected_version != current_version:
        return CellPlan(write=False, stale=True, level=current_level)
    return CellPlan(write=True, stale=False, level=wanted)


def move(items: list, index: int, direction: str) -> list:
    """``items`` with the one at ``index`` moved one step ``up`` or ``down`` (unchanged at either end)."""
    result = list(items)
    target = index - 1 if direction == "up" else index + 1 if direction == "down" else index
    if 0 <= index < len(result) and 0 <= target < len(result) and target != index:
        result[index], result[target] = result[target], result[index]
    return result


def options(raw: str | None) -> list[str]:
    """A JSON list of strings stored in a text column (anything else gives an empty list)."""
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def dump(values) -> str:
    """A list of strings for a text column."""
    return json.dumps(list(values), ensure_ascii=False)


def chosen(possible: list[str], wanted: list[str]) -> list[str]:
    """The ``wanted`` complexities or aléas that the framework offers, in the framework's order."""
    wanted_set = set(wanted)
    return [value for value in possible if value in wanted_set]

