"""Routes of a learner's UAA list and of the encoding in the row (SPEC §5, CEPU guide §2.3–2.6, §3.2–3.3).

- ``GET /uaa/eleves/{learner_id}`` (``uaa.search``): the header and the list; an htmx request (filters, pager)
  gets only the table, which the full page includes.
- ``POST /uaa/tentatives/{attempt_id}`` (``uaa.encode``): save one row. htmx gets the ``<tbody>`` of that UAA
  back (200, 400 with the French message in the row, 409 when someone saved first); a plain form is sent back to
  the list (303) or gets the page again with status 400 / 409.
- ``GET /uaa/mes-resultats`` (``uaa.own_results``): a learner's own attempts, read-only.

Scope is checked by :mod:`portal.uaa.encoding`; a learner outside it answers 404 like an unknown one.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery

from portal.core import web
from portal.core.clock import today
from portal.core.web import Form
from portal.uaa import attempt_saves, encoding
from portal.uaa import rows as rows_module

PAGE_TEMPLATE = "uaa/learner.html"
TABLE_TEMPLATE = "uaa/partials/attempt_table.html"
OWN_TEMPLATE = "uaa/my_results.html"
NOT_FOUND = "Cet élève n'existe pas ou ne relève pas de l'établissement pour lequel vous agissez."
#: What attempt_table.html needs to write the rows (portal.uaa.rows), in the context of every page that includes it.
ROW_WRITERS = {"uaa_group_html": rows_module.group_html, "uaa_rows_context": rows_module.RowsContext}
NOTICES = {
    "1": "L'enregistrement a été effectué.",
    "0": "Aucune modification à enregistrer.",
}


def _not_found(request: Request, exc: encoding.LearnerNotFound) -> Response:
    """An unknown learner or attempt, or one outside the person's scope: the same French 404."""
    return web.not_found_handler(request, NotFoundException(NOT_FOUND))


def _with_notice(url: str, changed: bool) -> str:
    """``url`` with ``enregistre=1`` (or ``0``: nothing to save) replacing any earlier notice."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "enregistre"]
    query.append(("enregistre", "1" if changed else "0"))
    return urlunsplit(("", "", parts.path, urlencode(query), ""))


def _iso(raw: str | None) -> str:
    """The value a ``type=date`` input can show again: the date typed, when it can be read."""
    try:
        day = encoding.parse_date(raw)
    except encoding.EncodingError:
        return ""
    return day.isoformat() if day else ""


class EncodingController(Controller):
    """A learner's UAA list with the encoding in the row, and a learner's own results."""

    path = "/uaa"
    exception_handlers = {encoding.LearnerNotFound: _not_found}

    async def _page(self, request: Request, learner_id: int, criteria: encoding.Criteria, status: int = 200,
                    **extra) -> Response:
        user = web.current_user(request)
        view = await encoding.learner_page(user, learner_id, criteria)
        path = encoding.learner_path(learner_id)
        context = {
            "view": view, "learner": view.learner, "listing": view.listing, "criteria": view.listing.criteria,
            "editable": view.editable, "path": path, "back": view.listing.criteria.url(path),
            "today": today(), "show_attestation": user.can("uaa.attestation"), "swappable": True,
            "per_page_choices": encoding.PER_PAGE_CHOICES, "row_errors": {}, "row_values": {}, "row_notices": {},
            **ROW_WRITERS, **extra,
        }
        # A refusal about a row this page does not show (filters, paging) is shown above the list instead.
        shown = {row.id for row in view.listing.rows}
        context["page_errors"] = [message for attempt, message in context["row_errors"].items() if attempt not in shown]
        return web.page_or_fragment(request, PAGE_TEMPLATE, TABLE_TEMPLATE, status_code=status, **context)

    @get("/eleves/{learner_id:int}", name="uaa_learner", opt={"permission": "uaa.search"})
    async def learner(self, request: Request, learner_id: FromPath[int],
                      masquer_echec: FromQuery[str | None] = None, masquer_reussite: FromQuery[str | None] = None,
                      q: FromQuery[str | None] = None, afficher: FromQuery[str | None] = None,
                      page: FromQuery[str | None] = None, enregistre: FromQuery[str | None] = None) -> Response:
        """« UAA pour l'élève »: the identity and the « Liste des Unités d'Acquis d'Apprentissage »."""
        criteria = encoding.parse_criteria(masquer_echec, masquer_reussite, q, afficher, page)
        return await self._page(request, learner_id, criteria, notice=NOTICES.get(enregistre or ""))

    @post("/tentatives/{attempt_id:int}", name="uaa_attempt_save", opt={"permission": "uaa.encode"})
    async def save(self, request: Request, attempt_id: FromPath[int], data: Form) -> Response:
        """Save one row (status, date) under the rules; htmx gets the UAA's rows back."""
        user = web.current_user(request)
        back_raw = data.get("retour")
        criteria = encoding.criteria_from_url(back_raw)
        try:
            saved = await attempt_saves.save_attempt(
                user, attempt_id, data.get("status"), data.get("presented_on"), data.get("version"),
                learner=data.get("eleve"), uaa=data.get("uaa"))
        except encoding.EncodingError as error:
            rows = error.rows
            if error.status_code == 409 or not rows:  # show the rows as they stand now that the transaction is over
                try:
                    rows = await attempt_saves.current_rows(user, attempt_id)
                except encoding.LearnerNotFound:
                    if not rows:
                        raise
            learner_id = rows[0].learner_id
            values = {}
            if error.status_code == 400:  # keep what was typed so that it can be fixed
                values = {attempt_id: {"status": (data.get("status") or "").strip(),
                                       "presented_on": _iso(data.get("presented_on"))}}
            extra = {"row_errors": {attempt_id: error.message}, "row_values": values, "target_attempt": attempt_id}
            if web.is_htmx(request):
                return self._group(request, learner_id, rows, criteria, error.status_code, **extra)
            return await self._page(request, learner_id, criteria, status=error.status_code, **extra)
        back = encoding.safe_back(back_raw, saved.learner_id)
        if web.is_htmx(request):
            return self._group(request, saved.learner_id, saved.rows, criteria, 200,
                               row_notices={attempt_id: saved.message}, target_attempt=attempt_id)
        return web.redirect(request, _with_notice(back, saved.changed))

    def _group(self, request: Request, learner_id: int, rows: list[encoding.AttemptRow],
               criteria: encoding.Criteria, status: int, *, row_errors: dict | None = None,
               row_values: dict | None = None, row_notices: dict | None = None,
               target_attempt: int | None = None) -> Response:
        """The ``<tbody>`` of one UAA: every attempt of it passing the list's filters (paging aside), written by
        :func:`portal.uaa.rows.group_html`, the writer of every group of the list (attempt_table.html), without a
        template around it: it is the whole answer, and the template's render cost as much as the rows."""
        user = web.current_user(request)
        shown = encoding.apply_filters(rows, criteria)
        group = encoding.Group(uaa_id=rows[0].uaa_id, rows=shown)
        row_errors, row_notices = row_errors or {}, row_notices or {}
        context = rows_module.RowsContext(
            editable=True, today=today(), back=criteria.url(encoding.learner_path(learner_id)),
            show_attestation=user.can("uaa.attestation"), csrf_token=web.csrf_token(request),
            row_errors=row_errors, row_values=row_values or {}, row_notices=row_notices,
            target_attempt=target_attempt)
        # A message for a row the filters hide (e.g. an Echec saved while failures are hidden) goes on the group.
        visible = {row.id for row in shown}
        messages = [(kind, message) for kind, by_row in (("error", row_errors), ("notice", row_notices))
                    for attempt, message in by_row.items() if attempt not in visible]
        html = rows_module.group_html(group, context, swappable=True, messages=messages)
        return Response(content=str(html), status_code=status, media_type=MediaType.HTML)

    @get("/mes-resultats", name="uaa_own_results", opt={"permission": "uaa.own_results"})
    async def own(self, request: Request, masquer_echec: FromQuery[str | None] = None,
                  masquer_reussite: FromQuery[str | None] = None, q: FromQuery[str | None] = None,
                  afficher: FromQuery[str | None] = None, page: FromQuery[str | None] = None) -> Response:
        """A learner's own UAA results, read-only, with the attestations of their successes."""
        user = web.current_user(request)
        criteria = encoding.parse_criteria(masquer_echec, masquer_reussite, q, afficher, page)
        results = await encoding.own_results(user, criteria)
        context = {
            "learners": results.learners, "listing": results.listing, "criteria": results.listing.criteria,
            "path": "/uaa/mes-resultats", "editable": False, "show_attestation": True, "swappable": False,
            "attestation_base": "/uaa/mes-attestations/tentative/",
            "per_page_choices": encoding.PER_PAGE_CHOICES, "row_errors": {}, "row_values": {}, "row_notices": {},
            "today": today(), **ROW_WRITERS,
        }
        return web.page_or_fragment(request, OWN_TEMPLATE, TABLE_TEMPLATE, **context)


ROUTES: list = [EncodingController]
