"""The rules of UAA attempts (SPEC §5, CEPU guide §2.4–2.6). Pure: no I/O.

For one learner and one UAA the attempts form a sequence. Saving an attempt (status and date) is allowed on the
last encoded attempt or on the pending row after it, and gives a :class:`Plan`: the rows to update, the pending
row to add, the pending rows to delete. The invariants (:func:`problems`) hold before and after every allowed save:

- at most one Réussite, and no attempt after it;
- at most one pending row (A encoder), always last;
- when the last encoded attempt is an Echec, exactly one pending row follows it;
- with no encoded attempt there is exactly one pending row;
- dates are required for Réussite and Echec, never in the future, never before an earlier attempt.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from portal.core.clock import day_text

PENDING = "a_encoder"
SUCCESS = "reussite"
FAILURE = "echec"
STATUS_LABELS = {PENDING: "A encoder", SUCCESS: "Réussite", FAILURE: "Echec"}
ENCODED = (SUCCESS, FAILURE)
EARLIEST = date(2000, 1, 1)


class RuleError(ValueError):
    """A save the rules refuse, with the French message to show."""


@dataclass(frozen=True)
class AttemptState:
    """What the rules need of an attempt."""

    sequence: int
    status: str = PENDING
    presented_on: date | None = None


@dataclass
class Plan:
    """What a save changes."""

    updated: AttemptState
    insert_pending: int | None = None  # sequence of a new pending row
    delete_pending: list[int] = field(default_factory=list)  # sequences of pending rows that go
    before: AttemptState | None = None

    def apply(self, attempts: list[AttemptState]) -> list[AttemptState]:
        """The sequence after the save."""
        result = [self.updated if a.sequence == self.updated.sequence else a for a in attempts
                  if a.sequence not in self.delete_pending]
        if self.insert_pending is not None:
            result.append(AttemptState(self.insert_pending))
        return sorted(result, key=lambda a: a.sequence)


def initial() -> list[AttemptState]:
    """A UAA of the learner's programme starts with one row to encode."""
    return [AttemptState(1)]


def problems(attempts: list[AttemptState]) -> list[str]:
    """Every invariant the sequence breaks (empty when it is sound)."""
    found: list[str] = []
    ordered = sorted(attempts, key=lambda a: a.sequence)
    if [a.sequence for a in ordered] != sorted({a.sequence for a in ordered}):
        found.append("numéros de présentation en double")
    statuses = [a.status for a in ordered]
    if statuses.count(SUCCESS) > 1:
        found.append("plus d'une réussite")
    if SUCCESS in statuses and statuses.index(SUCCESS) != len(statuses) - 1:
        found.append("une présentation suit la réussite")
    pending = [i for i, s in enumerate(statuses) if s == PENDING]
    if len(pending) > 1 or (pending and pending[0] != len(statuses) - 1):
        found.append("ligne à encoder ailleurs qu'en dernière position")
    encoded = [a for a in ordered if a.status in ENCODED]
    if encoded and encoded[-1].status == FAILURE and len(pending) != 1:
        found.append("un échec n'est pas suivi d'une ligne à encoder")
    if not encoded and len(pending) != 1:
        found.append("aucune ligne à encoder")
    if any(a.presented_on is None for a in encoded):
        found.append("date manquante")
    dates = [a.presented_on for a in encoded if a.presented_on]
    if dates != sorted(dates):
        found.append("dates dans le désordre")
    return found


def plan_save(attempts: list[AttemptState], sequence: int, status: str, presented_on: date | None,
              today: date) -> Plan:
    """Check a save of attempt ``sequence`` and say what it changes. Raises :class:`RuleError` in French."""
    ordered = sorted(attempts, key=lambda a: a.sequence)
    target = next((a for a in ordered if a.sequence == sequence), None)
    if target is None:
        raise RuleError("Cette présentation n'existe pas (ou plus). Rechargez la page.")
    if status not in STATUS_LABELS:
        raise RuleError("Choisissez un statut : A encoder, Réussite ou Echec.")
    later = [a for a in ordered if a.sequence > sequence]
    if any(a.status in ENCODED for a in later):
        raise RuleError("Seule la dernière présentation encodée peut être modifiée : corrigez d'abord les suivantes.")
    earlier = [a for a in ordered if a.sequence < sequence and a.status in ENCODED]
    later_pending = [a.sequence for a in later]

    if status == PENDING:
        if target.status == PENDING:
            raise RuleError("Cette présentation est déjà à encoder : choisissez Réussite ou Echec.")
        # Cancelling a wrong encoding: the attempt becomes the one row left to encode.
        return Plan(updated=replace(target, status=PENDING, presented_on=None), delete_pending=later_pending,
                    before=target)

    if presented_on is None:
        raise RuleError("Indiquez la date de présentation (jj/mm/aaaa).")
    if presented_on > today:
        raise RuleError("La date de présentation ne peut pas être dans le futur.")
    if presented_on < EARLIEST:
        raise RuleError("La date de présentation n'est pas plausible.")
    if earlier and earlier[-1].presented_on and presented_on < earlier[-1].presented_on:
        raise RuleError(
            "La date de présentation ne peut pas précéder celle de la présentation précédente "
            f"({day_text(earlier[-1].presented_on)})."
        )
    updated = replace(target, status=status, presented_on=presented_on)
    if status == SUCCESS:
        return Plan(updated=updated, delete_pending=later_pending, before=target)
    # Echec: exactly one row to encode must follow.
    if later_pending:
        return Plan(updated=updated, delete_pending=later_pending[1:], before=target)
    return Plan(updated=updated, insert_pending=max(a.sequence for a in ordered) + 1, before=target)
