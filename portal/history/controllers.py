"""``/historique``: the history reader (SPEC §10). A direction reads the events of its establishment, the
Administration every event; filters on the entity and on a text, paged, in a constant number of queries.

:func:`search_events` is the reading query behind the page (no Litestar in it); it extends
:func:`portal.history.services.events` with the text filter and the list of entities.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get
from litestar.params import FromQuery
from piccolo.columns.combination import WhereRaw

from portal.accounts.identity import CurrentUser
from portal.core.web import current_user, page_or_fragment
from portal.history.tables import HistoryEvent
from portal.permissions import Profile

PAGE_SIZES = (20, 50, 100)
DEFAULT_SIZE = 50
SEARCH_MAX = 100
ENTITY_MAX = 40
VALUE_SHORT = 160

#: French names of the entities recorded so far; an unknown entity shows its code.
ENTITY_LABELS = {
    "directory_import": "Import de l'annuaire",
    "uaa_reference": "Référentiel UAA",
    "uaa_attempt": "Présentation d'UAA",
    "learner": "Élève",
    "attestation": "Attestation",
    "account": "Compte",
    "affiliation": "Affiliation",
    "access_request": "Demande d'accès",
    "contact": "Formulaire de contact",
    "demo": "Données de démonstration",
    "message": "Message",
}


# --- reading (no Litestar) ----------------------------------------------------------------------------------


def history_scope(user: CurrentUser) -> int | bool:
    """What the person may read: True for everything, an establishment id, or False for nothing."""
    active = user.active
    if active is None:
        return False
    if active.profile == Profile.ADMINISTRATION:
        return True
    if active.profile == Profile.DIRECTION and active.establishment_id:
        return active.establishment_id
    return False


def _contains(columns: tuple[str, ...], text: str) -> WhereRaw:
    """One of ``columns`` (trusted names) contains ``text``, ignoring case, ``%`` and ``_`` taken literally."""
    pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    sql = " OR ".join(f"lower({name}) LIKE {{}} ESCAPE '\\'" for name in columns)
    return WhereRaw(f"({sql})", *([pattern] * len(columns)))


async def search_events(
    scope: int | bool, *, entity: str = "", text: str = "", page: int = 1, size: int = DEFAULT_SIZE,
) -> dict:
    """One page of events of ``scope`` (True: all; an establishment id; False: none), newest first.

    Three queries whatever the page size: the count, the page, and the entities present in the scope (for the
    filter). Returns rows, total, page, pages and entities.
    """
    if scope is False:
        return {"rows": [], "total": 0, "page": 1, "pages": 1, "entities": []}
    scope_conditions = [] if scope is True else [HistoryEvent.establishment_id == scope]
    conditions = list(scope_conditions)
    if entity:
        conditions.append(HistoryEvent.entity == entity)
    if text:
        conditions.append(_contains(("summary", "actor_username", "action", "entity"), text))
    count = HistoryEvent.count()
    query = HistoryEvent.select()
    entities = HistoryEvent.select(HistoryEvent.entity).distinct().order_by(HistoryEvent.entity)
    for condition in conditions:
        count = count.where(condition)
        query = query.where(condition)
    for condition in scope_conditions:
        entities = entities.where(condition)
    total = await count
    pages = max(1, -(-total // size))
    page = min(max(page, 1), pages)
    rows = await query.order_by(HistoryEvent.id, ascending=False).limit(size).offset((page - 1) * size)
    return {
        "rows": [event_view(row) for row in rows],
        "total": total,
        "page": page,
        "pages": pages,
        "entities": [row["entity"] for row in await entities],
    }


def compact_json(value: Any) -> str:
    """A before/after value as one line of JSON, accents kept ("" for nothing)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def profile_label(code: str | None) -> str:
    """The French name of a profile code ("système" when there is none)."""
    if not code:
        return "système"
    try:
        return Profile(code).label
    except ValueError:
        return code


def event_view(row: dict) -> dict:
    """An event ready to show: profile and entity in words, before and after as compact JSON."""
    view = dict(row)
    view["profile_label"] = profile_label(row.get("profile")) if row.get("profile") or row.get("actor_id") is None \
        else "sans profil choisi"
    view["entity_label"] = ENTITY_LABELS.get(row.get("entity") or "", row.get("entity") or "")
    for key in ("before", "after"):
        text = compact_json(row.get(key))
        view[f"{key}_text"] = text
        view[f"{key}_short"] = text if len(text) <= VALUE_SHORT else text[: VALUE_SHORT - 1] + "…"
    return view


# --- page ---------------------------------------------------------------------------------------------------


class HistoryController(Controller):
    """``/historique``: the history reader, for directions (their establishment) and the Administration."""

    path = "/historique"
    opt = {"permission": "history.read"}

    @get("/", name="history")
    async def index(
        self, request: Request, entite: FromQuery[str] = "", recherche: FromQuery[str] = "",
        page: FromQuery[int] = 1, taille: FromQuery[int] = DEFAULT_SIZE,
    ) -> Response:
        """The events, newest first, filtered (htmx: the table alone)."""
        user = current_user(request)
        entity, search = entite.strip(), recherche.strip()
        errors = []
        if len(search) > SEARCH_MAX:
            errors.append(f"La recherche ne peut pas dépasser {SEARCH_MAX} caractères.")
            search = ""
        if len(entity) > ENTITY_MAX:
            errors.append("Choisissez un type d'élément de la liste.")
            entity = ""
        size = taille if taille in PAGE_SIZES else DEFAULT_SIZE
        scope = history_scope(user)
        listing = await search_events(scope, entity=entity, text=search, page=page, size=size)
        params = {"entite": entity, "recherche": search}
        if size != DEFAULT_SIZE:
            params["taille"] = size
        kept = {key: value for key, value in params.items() if value}
        return page_or_fragment(
            request, "history/history.html", "history/partials/event_table.html",
            status_code=400 if errors else 200, listing=listing, errors=errors, entity=entity, search=search,
            size=size, sizes=PAGE_SIZES, entity_labels=ENTITY_LABELS, everything=scope is True,
            base="/historique?" + (urlencode(kept) + "&" if kept else ""),
        )


ROUTES: list = [HistoryController]
