"""Saving a row of a learner's UAA list (SPEC §5, CEPU guide §2.4–2.6): the status and date of one attempt.

:func:`save_attempt` applies :func:`portal.uaa.rules.plan_save` to the attempts of one learner and one UAA: version
check, update of the row, new pending row or removed pending rows, revocation of the attestation of a corrected
success, one history event with the before and after. Every refusal changes nothing.

The UAA's rows are first read unlocked and the rules applied to them: a refusal stands on committed rows and
takes no lock. The write then goes one of two ways, with one outcome:

- First the rows as read, if they are still those rows. On PostgreSQL the common case (a row encoded, or an
  Echec's date corrected: no row removed, no attestation revoked) is written in one statement, without ``BEGIN``
  and ``COMMIT``: it locks the UAA's rows, checks that they are still those it read (each row's id and version)
  and that the learner is still of the school acted for, and updates the row, adds the pending row and records
  the event (:func:`_write_in_one_statement`). On SQLite every save is written in a write transaction whose
  update carries the same checks (:func:`_unchanged_sql`), with nothing read again and no rule applied while
  SQLite's only write lock is held: the other writers wait for the statements alone.
- When the rows changed meanwhile nothing has been written, and the general way runs: in a write transaction (on
  SQLite, the same one), the UAA's rows read locked, the rules applied again, the writes.

No Litestar import here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import date

from portal.accounts.identity import CurrentUser
from portal.core.clock import day_text, now, today
from portal.core.db import atomic, is_sqlite, is_unique_violation, query
from portal.core.forms import INCOMPLETE_FORM, form_int
from portal.history.services import event_insert, record
from portal.uaa.encoding import (
    GONE_MESSAGE,
    HISTORY_ENTITY,
    ID_MAX,
    ROW_COLUMNS,
    STALE_MESSAGE,
    AttemptRow,
    EncodingError,
    LearnerNotFound,
    StaleAttempt,
    acting_for,
    attempt_row,
    mark_editable,
    parse_date,
)
from portal.uaa.rules import (
    ENCODED,
    PENDING,
    STATUS_LABELS,
    SUCCESS,
    Plan,
    RuleError,
    plan_save,
    problems,
)
from portal.uaa.tables import Attempt


def parse_version(raw: str | None) -> int:
    """The version carried by a row form; a missing or garbled one is refused."""
    version = form_int(raw)
    if version is None:
        raise EncodingError(INCOMPLETE_FORM)
    return version


@dataclass
class Saved:
    """The outcome of a save: the UAA's attempts afterwards (editability marked) and what happened."""

    attempt_id: int
    learner_id: int
    uaa_id: int
    rows: list[AttemptRow]
    changed: bool
    message: str


def _describe(status: str, day: date | None) -> str:
    label = STATUS_LABELS.get(status, status)
    return f"{label} ({day_text(day)})" if day and status in ENCODED else label


# The statements of a save, written once: they run inside the write transaction, where every millisecond holds
# up the other writers (SQLite has one writer at a time), and Piccolo's builder costs more than the statements.
_UAA_ATTEMPTS_SQL = """
SELECT a.id AS id, a.learner AS learner, a.uaa AS uaa, a.sequence AS sequence, a.status AS status,
       a.presented_on AS presented_on, a.version AS version, a.establishment AS establishment,
       u.code AS "uaa.code", u.label AS "uaa.label", p.short_label AS "uaa.profile.short_label",
       l.establishment AS "learner.establishment", l.last_name AS "learner.last_name",
       l.first_name AS "learner.first_name"
FROM uaa_attempt a
JOIN uaa_attempt t ON t.id = {} AND a.learner = t.learner AND a.uaa = t.uaa
JOIN learner l ON l.id = a.learner
LEFT JOIN uaa u ON u.id = a.uaa
LEFT JOIN training_profile p ON p.id = u.profile
ORDER BY a.sequence
"""
_SET = "status = {}, presented_on = {}, version = version + 1, updated_by = {}, updated_at = {}"
_SET_SQL = f"UPDATE uaa_attempt SET {_SET}, establishment = {{}}\n"
_INSERT_PENDING_SQL = """
INSERT INTO uaa_attempt (learner, uaa, sequence, status, presented_on, establishment, updated_by, updated_at, version)
VALUES ({}, {}, {}, {}, NULL, {}, {}, {}, 1) RETURNING id
"""

# PostgreSQL, one statement (see the module's docstring). ``locked`` takes the UAA's rows FOR UPDATE, in the
# order the general way locks them (no deadlock between the two); the update happens only if they are still
# the rows read (``id:version`` of each, in id order: versions only grow, and every save bumps one) and the
# learner is still of the school acted for (after a transfer between the read and the write, nothing is written
# and the general way refuses); the pending row and the event follow the updated row. Parameters: learner, uaa;
# the SET's; attempt, version, rows read; learner, school; then the pending row's (learner, uaa, sequence,
# status, establishment, author, time) when there is one; then the event's (history.services.event_insert).
_ONE_STATEMENT_SQL = """
WITH locked AS (
    SELECT id, version FROM uaa_attempt WHERE learner = {} AND uaa = {} ORDER BY sequence FOR UPDATE
), changed AS (
""" + _SET_SQL + """
    WHERE id = {} AND version = {}
      AND (SELECT string_agg(id::text || ':' || version::text, ',' ORDER BY id) FROM locked) = {}
      AND (SELECT establishment FROM learner WHERE id = {}) = {}
    RETURNING id
)"""
_ONE_STATEMENT_PENDING_SQL = """, added AS (
    INSERT INTO uaa_attempt (learner, uaa, sequence, status, presented_on, establishment, updated_by, updated_at,
                             version)
    SELECT {}::bigint, {}::bigint, {}::integer, {}::text, NULL, {}::bigint, {}::bigint, {}::timestamptz, 1
    FROM changed RETURNING id
)"""


def _fingerprint(data: list[dict]) -> str:
    """The UAA's rows as read, as ``locked`` gives them back in SQL: ``id:version`` in id order."""
    return ",".join(f"{d['id']}:{d['version']}" for d in sorted(data, key=lambda d: d["id"]))


@functools.cache
def _update_sql(set_establishment: bool, rows_read: int | None) -> str:
    """The update of a save's row (``RETURNING id``: no row, not written). Parameters: the SET's (the school last
    when ``set_establishment``), the row's id and version, then :func:`_unchanged_sql`'s when ``rows_read``.

    The establishment is set only when the row was encoded by another school: SQLite rewrites an index entry of
    every column it sets, changed or not (one page less to write at each commit)."""
    sql = _SET_SQL if set_establishment else f"UPDATE uaa_attempt SET {_SET}\n"
    sql += "WHERE id = {} AND version = {}"
    if rows_read is not None:
        sql += _unchanged_sql(rows_read)
    return sql + " RETURNING id"


def _unchanged_sql(rows: int) -> str:
    """SQLite: the condition an update adds to write only if the UAA's rows are still the ``rows`` read, and the
    learner still of the school acted for. Parameters: the learner and the school; the number of rows, then each
    row's id and version; the learner and the UAA. The rows are the same when there are as many and each is one
    of those read, with its version (ids are unique; versions only grow, and every save bumps one)."""
    pairs = ", ".join("({}, {})" for _ in range(rows))
    return ("\n  AND (SELECT establishment FROM learner WHERE id = {}) = {}"
            f"\n  AND (SELECT count(*) = {{}} AND total((id, version) IN (VALUES {pairs})) = count(*)"
            "\n       FROM uaa_attempt WHERE learner = {} AND uaa = {})")


def _unchanged_args(school: int, checked: _Checked) -> list:
    """The parameters of :func:`_unchanged_sql` for the rows ``checked`` was read from."""
    target = checked.target
    args: list = [target.learner_id, school, len(checked.data)]
    for row in checked.data:
        args += [row["id"], row["version"]]
    return [*args, target.learner_id, target.uaa_id]


async def _uaa_attempts(attempt_id: int, lock: bool = False) -> tuple[list[dict], AttemptRow | None]:
    """Every attempt of the learner × UAA of ``attempt_id`` (one query), with the learner's establishment.

    ``lock`` (inside a write transaction): on PostgreSQL the rows are read ``FOR UPDATE``, so that two saves of
    the same UAA run one after the other and the second sees what the first wrote; SQLite's write transaction
    (IMMEDIATE) already serialises writers.
    """
    sql = _UAA_ATTEMPTS_SQL + (" FOR UPDATE OF a" if lock and not is_sqlite() else "")
    data = await query(sql, attempt_id)
    target = next((attempt_row(d) for d in data if d["id"] == attempt_id), None)
    return data, target


async def current_rows(user: CurrentUser, attempt_id: int) -> list[AttemptRow]:
    """The attempts of the UAA of ``attempt_id`` as they stand (for a refused form), editability marked."""
    data, target = await _uaa_attempts(attempt_id)
    if target is None or data[0]["learner.establishment"] != acting_for(user):
        raise LearnerNotFound(attempt_id)
    rows = [attempt_row(d) for d in data]
    mark_editable(rows)
    return rows


async def _gone(school: int, attempt_id: int, learner: str | None, uaa: str | None) -> StaleAttempt:
    """The refusal of a save whose row was removed meanwhile: the UAA's rows as they now stand (from the form's
    learner and UAA), or :class:`LearnerNotFound` when they are unknown or out of scope."""
    ids = [int(v) for v in (learner or "", uaa or "") if v.strip().isdigit() and 0 < int(v) <= ID_MAX]
    if len(ids) == 2:
        data = await Attempt.select(*ROW_COLUMNS, Attempt.learner.establishment).where(
            (Attempt.learner == ids[0]) & (Attempt.uaa == ids[1])).order_by(Attempt.sequence)
        if data and data[0]["learner.establishment"] == school:
            rows = [attempt_row(d) for d in data]
            mark_editable(rows)
            return StaleAttempt(GONE_MESSAGE, rows, attempt_id)
    raise LearnerNotFound(attempt_id)


@dataclass
class _Checked:
    """A save the rules allow, on the UAA's rows as read: what it changes."""

    data: list[dict]
    rows: list[AttemptRow]  # as read, editability marked
    target: AttemptRow
    plan: Plan

    @property
    def updated(self):
        return self.plan.updated

    @property
    def changes_nothing(self) -> bool:
        return (self.target.state == self.plan.updated and self.plan.insert_pending is None
                and not self.plan.delete_pending)

    @property
    def revokes(self) -> bool:
        """A Réussite whose status or date changes: its attestation printed the old one."""
        before, updated = self.target.state, self.plan.updated
        return before.status == SUCCESS and (updated.status != SUCCESS or updated.presented_on != before.presented_on)


async def _check(school: int, attempt_id: int, data: list[dict], target: AttemptRow | None, status: str,
                 presented_on: str | None, version: str | None, day: date, learner: str | None,
                 uaa: str | None) -> _Checked:
    """Apply the rules to the UAA's rows as read; raises the refusal (nothing changed) in French."""
    if target is None:
        raise await _gone(school, attempt_id, learner, uaa)
    if data[0]["learner.establishment"] != school:
        raise LearnerNotFound(attempt_id)
    rows = [attempt_row(d) for d in data]
    mark_editable(rows)
    try:
        expected = parse_version(version)
        wanted = parse_date(presented_on)
    except EncodingError as error:
        raise EncodingError(error.message, rows, attempt_id) from None
    if expected != target.version:
        raise StaleAttempt(STALE_MESSAGE, rows, attempt_id)
    states = [r.state for r in rows]
    try:
        plan = plan_save(states, target.sequence, status, wanted, day)
    except RuleError as error:
        raise EncodingError(str(error), rows, attempt_id) from None
    broken = problems(plan.apply(states))
    if broken:  # defensive: the rules keep the invariants, but a sequence already unsound stays untouched
        raise EncodingError("Cet enregistrement rendrait les présentations de l'UAA incohérentes ("
                            + ", ".join(broken) + ") : rien n'a été modifié.", rows, attempt_id)
    return _Checked(data, rows, target, plan)


def _event(checked: _Checked) -> dict:
    """The history event of a save, but its ``entity_id`` and ``pending_added`` (known once written)."""
    before, updated, target = checked.target.state, checked.updated, checked.target
    removed = [r.id for r in checked.rows if r.sequence in checked.plan.delete_pending]
    first = checked.data[0]
    who = f"{first.get('learner.first_name') or ''} {first.get('learner.last_name') or ''}".strip()
    return {
        "action": ("annulation" if updated.status == PENDING
                   else "encodage" if before.status == PENDING else "correction"),
        "before": {"status": before.status, "presented_on": before.presented_on, "version": target.version},
        "after": {"status": updated.status, "presented_on": updated.presented_on, "version": target.version + 1,
                  "learner_id": target.learner_id, "uaa_id": target.uaa_id, "uaa": target.uaa_code,
                  "sequence": target.sequence, "pending_removed": removed},
        "summary": (f"{who} — UAA {target.uaa_code}, présentation {target.sequence} : "
                    f"{_describe(before.status, before.presented_on)} → "
                    f"{_describe(updated.status, updated.presented_on)}"),
    }


async def _write_in_transaction(user: CurrentUser, school: int, checked: _Checked,
                                if_unchanged: bool = False) -> tuple[list[int], int | None] | None:
    """The writes of a checked save, inside the caller's write transaction: the ids of the pending rows removed and
    of the one added. The rows were read locked, in the same transaction, unless ``if_unchanged`` (SQLite: they
    were read before it): the update then checks that they are still those rows, and when they are not, nothing
    is written and None is returned. Raises :class:`StaleAttempt` when the row changed meanwhile."""
    target, updated, plan, rows = checked.target, checked.updated, checked.plan, checked.rows
    attempt_id = target.id
    stamp = now()
    set_establishment = target.establishment_id != school
    args = [updated.status, updated.presented_on, user.account_id, stamp, *([school] if set_establishment else []),
            attempt_id, target.version, *(_unchanged_args(school, checked) if if_unchanged else [])]
    sql = _update_sql(set_establishment, len(checked.data) if if_unchanged else None)
    changed_rows = await query(sql, *args)
    if not changed_rows:
        if if_unchanged:
            return None
        raise StaleAttempt(STALE_MESSAGE, rows, attempt_id)
    removed_ids = [r.id for r in rows if r.sequence in plan.delete_pending]
    if removed_ids:
        removed = await Attempt.delete().where(
            Attempt.id.is_in(removed_ids) & (Attempt.status == PENDING)
        ).returning(Attempt.id)
        if len(removed) != len(removed_ids):  # a concurrent save encoded one of them: start again
            raise StaleAttempt(GONE_MESSAGE, rows, attempt_id)
    added_id = None
    if plan.insert_pending is not None:
        inserted = await query(_INSERT_PENDING_SQL, target.learner_id, target.uaa_id, plan.insert_pending,
                               PENDING, school, user.account_id, stamp)
        added_id = inserted[0]["id"]
    if checked.revokes:
        # Imported at call time: the attestations build on the same tables and are built alongside.
        # A Réussite whose date changes keeps its status, but its attestation printed the old date: it goes too,
        # and the next download issues a new one. The reason is public (verification page): no names in it;
        # the history keeps who did it.
        from portal.uaa import attestations

        if updated.status == SUCCESS:
            reason = f"Date de validation corrigée ({_describe(updated.status, updated.presented_on)})"
        elif updated.status == PENDING:
            reason = "Réussite annulée (présentation remise à encoder)"
        else:
            reason = f"Réussite corrigée en {_describe(updated.status, updated.presented_on)}"
        await attestations.revoke_for_attempt(attempt_id, user.actor, f"{reason}.")
    event = _event(checked)
    event["after"]["pending_added"] = added_id
    await record(user.actor, HISTORY_ENTITY, attempt_id, event.pop("action"), establishment_id=school, **event)
    return removed_ids, added_id


async def _write_in_one_statement(user: CurrentUser, school: int, checked: _Checked) -> tuple[bool, int | None]:
    """PostgreSQL: a checked save that removes no row and revokes nothing, written in one statement when the
    UAA's rows are still those read. Whether it was written (not when the rows changed meanwhile: the caller then
    takes the general way), and the id of the pending row added (None: none)."""
    target, updated, plan = checked.target, checked.updated, checked.plan
    stamp = now()
    args = [target.learner_id, target.uaa_id, updated.status, updated.presented_on, user.account_id, stamp, school,
            target.id, target.version, _fingerprint(checked.data), target.learner_id, school]
    sql = _ONE_STATEMENT_SQL
    added = "NULL::bigint"
    if plan.insert_pending is not None:
        sql += _ONE_STATEMENT_PENDING_SQL
        args += [target.learner_id, target.uaa_id, plan.insert_pending, PENDING, school, user.account_id, stamp]
        added = "(SELECT id FROM added)"
    event = _event(checked)
    insert, values = event_insert(user.actor, HISTORY_ENTITY, event.pop("action"), entity_id_sql="changed.id",
                                  after_sql={"pending_added": added}, establishment_id=school, **event)
    try:
        done = await query(sql + f", event AS ({insert} FROM changed RETURNING entity_id)\n"
                                 f"SELECT (SELECT entity_id FROM event) AS id, {added} AS added_id", *args, *values)
    except Exception as error:  # noqa: BLE001 - only a duplicate row number, from a concurrent insert
        if is_unique_violation(error):
            return False, None
        raise
    if not done or done[0]["id"] is None:
        return False, None
    return True, done[0]["added_id"]


def _saved(checked: _Checked, school: int, removed_ids: list[int], added_id: int | None) -> Saved:
    """The outcome of a written save: the UAA's attempts afterwards, built from what was read and written (no
    second read), and the message."""
    target, updated, plan = checked.target, checked.updated, checked.plan
    result: list[AttemptRow] = []
    for row in checked.rows:
        if row.id in removed_ids:
            continue
        if row.id == target.id:
            row = replace(row, status=updated.status, presented_on=updated.presented_on, version=row.version + 1,
                          establishment_id=school)
        result.append(row)
    if added_id is not None:
        result.append(replace(target, id=added_id, sequence=plan.insert_pending, status=PENDING, presented_on=None,
                              version=1, establishment_id=school))
    result.sort(key=lambda r: r.sequence)
    mark_editable(result)
    message = f"Présentation {target.sequence} de l'UAA {target.uaa_code} enregistrée : " + _describe(
        updated.status, updated.presented_on) + "."
    if added_id is not None:
        message += " Une ligne « A encoder » a été ajoutée pour la présentation suivante."
    if removed_ids:
        message += " La ligne « A encoder » qui suivait a été retirée."
    return Saved(target.id, target.learner_id, target.uaa_id, result, changed=True, message=message)


def _unchanged(checked: _Checked) -> Saved:
    target = checked.target
    return Saved(target.id, target.learner_id, target.uaa_id, checked.rows, changed=False,
                 message="Aucune modification à enregistrer.")


async def save_attempt(user: CurrentUser, attempt_id: int, status: str | None, presented_on: str | None,
                       version: str | None, on: date | None = None, learner: str | None = None,
                       uaa: str | None = None) -> Saved:
    """Save the status and date of an attempt, with everything the rules say follows, atomically.

    ``learner`` and ``uaa`` (sent by the row form) only serve when the attempt was removed meanwhile, to show the
    UAA's rows as they now stand. Raises :class:`LearnerNotFound` (unknown attempt, or a learner not of the
    establishment acted for), :class:`StaleAttempt` (the row changed since the form was shown) or
    :class:`EncodingError` (the rules refuse; French message). In every refused case nothing has changed.
    """
    if not 0 < attempt_id <= ID_MAX:
        raise LearnerNotFound(attempt_id)
    school = acting_for(user)
    day = on or today()
    status = (status or "").strip()
    form = (status, presented_on, version, day, learner, uaa)
    # Read unlocked: a refusal stands on committed rows, and a save is written as checked when they still stand.
    data, target = await _uaa_attempts(attempt_id)
    checked = await _check(school, attempt_id, data, target, *form)
    if checked.changes_nothing:
        return _unchanged(checked)
    sqlite = is_sqlite()
    if not sqlite and not checked.plan.delete_pending and not checked.revokes:
        written, added_id = await _write_in_one_statement(user, school, checked)
        if written:
            return _saved(checked, school, [], added_id)
    async with atomic():
        done = await _write_in_transaction(user, school, checked, if_unchanged=True) if sqlite else None
        if done is None:  # the general way: the rows changed since they were read (or PostgreSQL's other cases)
            data, target = await _uaa_attempts(attempt_id, lock=True)
            checked = await _check(school, attempt_id, data, target, *form)
            if checked.changes_nothing:
                return _unchanged(checked)
            done = await _write_in_transaction(user, school, checked)
    removed_ids, added_id = done
    return _saved(checked, school, removed_ids, added_id)
