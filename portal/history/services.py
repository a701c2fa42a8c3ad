"""Recording and reading the history. Every service that changes state calls :func:`record`."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from portal.core.clock import now
from portal.core.db import query
from portal.history.tables import HistoryEvent


@dataclass(frozen=True)
class Actor:
    """Who does something: the account and the affiliation acted for (empty for the system itself)."""

    account_id: int | None
    username: str
    profile: str = ""
    establishment_id: int | None = None
    pole_id: int | None = None


SYSTEM = Actor(account_id=None, username="système", profile="")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


async def record(
    actor: Actor,
    entity: str,
    entity_id: int | None,
    action: str,
    *,
    before: dict | None = None,
    after: dict | None = None,
    summary: str = "",
    establishment_id: int | None = None,
    pole_id: int | None = None,
) -> None:
    """Append one event. Scope defaults to the actor's; pass the record's own scope when it differs.

    One prebuilt statement: it runs inside the writers' transactions, where Piccolo's builder (about a
    millisecond) would hold up every other writer."""
    await query(_INSERT_SQL, *_values(actor, entity, entity_id, action, before, after, summary,
                                      establishment_id, pole_id))


def _values(actor: Actor, entity: str, entity_id: Any, action: str, before: dict | None, after: dict | None,
            summary: str, establishment_id: int | None, pole_id: int | None) -> list:
    """An event's values, in the order of :data:`_COLUMNS`."""
    return [now(), actor.account_id, actor.username[:20], actor.profile,
            establishment_id if establishment_id is not None else actor.establishment_id,
            pole_id if pole_id is not None else actor.pole_id, entity, entity_id, action, summary[:255],
            None if before is None else _json(before), None if after is None else _json(after)]


#: One encoder for every event (``json.dumps`` with an option builds a new one each call); a value JSON has no
#: type for (a date) is written as its text, as :func:`_jsonable` does.
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)


def _json(value: dict) -> str:
    """An event's ``before`` or ``after`` as JSON text."""
    try:
        return _ENCODER.encode(value)
    except TypeError:  # a key JSON cannot take (a date): every key as its text
        return _ENCODER.encode(_jsonable(value))


_COLUMNS = ("at", "actor_id", "actor_username", "profile", "establishment_id", "pole_id", "entity", "entity_id",
            "action", "summary", "before", "after")
#: The columns' PostgreSQL types, for :func:`event_insert`'s SELECT: there an untyped parameter is taken for text.
_TYPES = ("timestamptz", "bigint", "text", "text", "bigint", "bigint", "text", "bigint", "text", "text", "json", "json")
_ENTITY_ID = _COLUMNS.index("entity_id")
_AFTER = _COLUMNS.index("after")
_INSERT_SQL = f"INSERT INTO history_event ({', '.join(_COLUMNS)}) VALUES ({', '.join('{}' for _ in _COLUMNS)})"


def event_insert(actor: Actor, entity: str, action: str, *, entity_id_sql: str, before: dict | None = None,
                 after: dict | None = None, after_sql: dict[str, str] | None = None, summary: str = "",
                 establishment_id: int | None = None, pole_id: int | None = None) -> tuple[str, list]:
    """``INSERT INTO history_event (…) SELECT …`` recording one event inside a larger PostgreSQL statement; the
    caller appends the ``FROM`` (and any ``RETURNING``). ``entity_id_sql`` is the SQL of the changed row's id
    (``changed.id``); ``after_sql`` adds keys to ``after`` whose values only the statement knows (the id of a row
    it inserts: ``{"pending_added": "(SELECT id FROM added)"}``), written as JSON after the others."""
    extra = tuple((after_sql or {}).items())
    values = _values(actor, entity, None, action, before, None if extra else after, summary, establishment_id,
                     pole_id)
    del values[_ENTITY_ID]
    if extra:
        # after's JSON text, its closing brace left off, then each key: its value's JSON comes from the statement
        pieces = [_json(after or {})[:-1]]
        pieces += [(", " if after or index else "") + json.dumps(key) + ": " for index, (key, _sql) in enumerate(extra)]
        at = _AFTER - 1  # the position of after's value once the entity id is left out
        values[at:at + 1] = pieces
    return _event_insert_sql(entity_id_sql, extra), values


@functools.cache
def _event_insert_sql(entity_id_sql: str, extra: tuple[tuple[str, str], ...]) -> str:
    """The text of :func:`event_insert`'s statement: the same for every event of one kind of change."""
    columns = [f"{{}}::{kind}" for kind in _TYPES]
    columns[_ENTITY_ID] = entity_id_sql
    if extra:
        parts = ["{}::text"]
        for _key, expression in extra:
            parts += ["{}::text", f"coalesce(to_json({expression})::text, 'null')"]
        columns[_AFTER] = "(" + " || ".join(parts) + " || '}}')::json"  # '}}': a brace, once Piccolo reads it
    return f"INSERT INTO history_event ({', '.join(_COLUMNS)}) SELECT {', '.join(columns)}"


def recorded_with(change_sql: str, change_args: list, actor: Actor, entity: str, action: str, *,
                  before: dict | None = None, after: dict | None = None, summary: str = "",
                  establishment_id: int | None = None, pole_id: int | None = None) -> tuple[str, list]:
    """One PostgreSQL statement that makes a change and records it, atomic without a transaction around it:
    ``change_sql`` is an ``UPDATE … RETURNING id`` (or ``INSERT``), whose row's id becomes the event's
    ``entity_id``; when it changes no row, nothing is recorded. The statement returns that id (no row: nothing
    changed). Saves the round trips of ``BEGIN``, a second statement and ``COMMIT`` where one change is the
    whole write (a grid cell)."""
    insert, values = event_insert(actor, entity, action, entity_id_sql="changed.id", before=before, after=after,
                                  summary=summary, establishment_id=establishment_id, pole_id=pole_id)
    sql = f"WITH changed AS ({change_sql}) {insert} FROM changed RETURNING entity_id AS id"
    return sql, [*change_args, *values]


async def events(
    *, establishment_id: int | None = None, pole_id: int | None = None, everything: bool = False,
    entity: str | None = None, limit: int = 50, offset: int = 0,
) -> tuple[list[dict], int]:
    """Events of one scope, newest first, with the total count. ``everything`` is for the Administration."""
    query = HistoryEvent.select().order_by(HistoryEvent.id, ascending=False)
    count = HistoryEvent.count()
    conditions = []
    if not everything:
        if establishment_id is not None:
            conditions.append(HistoryEvent.establishment_id == establishment_id)
        elif pole_id is not None:
            conditions.append(HistoryEvent.pole_id == pole_id)
        else:
            return [], 0
    if entity:
        conditions.append(HistoryEvent.entity == entity)
    for condition in conditions:
        query = query.where(condition)
        count = count.where(condition)
    rows = await query.limit(limit).offset(offset)
    return rows, await count
