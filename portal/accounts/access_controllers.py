"""Pages of access requests: the public request form (annexes 1–3), the deciders' list with approval and refusal,
the list of granted accesses and their revocation (annex 5).

Permission and scope are enforced here and in :mod:`portal.accounts.access_services` for every request: a request
or an affiliation outside the decider's scope answers 404, an already decided one 409, and nothing changes.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import (
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.params import FromPath, FromQuery, QueryParameter

from portal.accounts import access_services as access
from portal.accounts.access_services import AccessError, RequestForm
from portal.core.web import (
    Form,
    current_user,
    is_htmx,
    page,
    page_or_fragment,
    redirect,
)
from portal.directory import services as directory

PageNumber = Annotated[int, QueryParameter(name="page", ge=1, le=100_000, required=False)]

LIST_TEMPLATE = "accounts/access/list.html"
ROW_TEMPLATE = "accounts/access/partials/request_row.html"
STATUS_CHOICES = [("", "Toutes"), ("en-attente", "En attente"), ("acceptees", "Acceptées"), ("refusees", "Refusées")]


def _field(data: dict, name: str) -> str:
    """One text field of a form body (a repeated field keeps its first value)."""
    value = data.get(name, "")
    if isinstance(value, list):
        value = value[0] if value else ""
    return value if isinstance(value, str) else ""


def _raise_http(error: AccessError) -> None:
    """Turn a 404 or 403 of the services into Litestar's exceptions (French pages)."""
    if error.status == 404:
        raise NotFoundException(error.message)
    if error.status == 403:
        raise PermissionDeniedException(error.message)


class AccessRequestController(Controller):
    """``/demande-acces``: anyone, signed in or not, asks for a profile."""

    path = "/demande-acces"
    opt = {"public": True}

    @staticmethod
    def _may_request(request: Request) -> None:
        user = request.scope.get("user")
        if user is not None and user.active is not None and not user.can("access.request"):
            raise PermissionDeniedException("Votre profil ne permet pas de demander un accès.")

    @staticmethod
    async def _form_page(request: Request, form: RequestForm, status_code: int = 200) -> Response:
        return page(request, "accounts/access/request_form.html", status_code=status_code, form=form,
                    profiles=access.profile_choices(), poles=await directory.pole_choices(),
                    limits=access.MAX_LENGTHS)

    @get("/")
    async def form(self, request: Request) -> Response:
        """The request form; a signed-in person's identity is filled in."""
        self._may_request(request)
        return await self._form_page(request, RequestForm(values=access.empty_values(request.scope.get("user"))))

    @post("/")
    async def submit(self, request: Request, data: Form) -> Response:
        """Store a pending request, or show the form again with French messages (400, nothing stored)."""
        self._may_request(request)
        fields = {name: _field(data, name) for name in access.MAX_LENGTHS}
        try:
            _form, summary = await access.submit_request(fields, request.scope.get("user"))
        except AccessError as error:
            form = getattr(error, "form", None) or RequestForm(values=fields, errors=error.errors)
            return await self._form_page(request, form, status_code=400)
        return page(request, "accounts/access/request_sent.html", summary=summary)

    @get("/etablissement")
    async def find_establishment(self, request: Request, establishment_code: FromQuery[str] = "") -> Response:
        """htmx: the establishment a FASE or UAI number names (shown under the field as one types)."""
        found = await directory.find_establishment(establishment_code[:40])
        return page(request, "accounts/access/partials/lookup.html", found=found, what="establishment",
                    code=directory.normalise_code(establishment_code[:40]))

    @get("/pouvoir-organisateur")
    async def find_organising_body(self, request: Request, po_fase: FromQuery[str] = "") -> Response:
        """htmx: the organising body a FASE number names."""
        found = await directory.find_organising_body(po_fase[:40])
        return page(request, "accounts/access/partials/lookup.html", found=found, what="organising_body",
                    code=directory.normalise_code(po_fase[:40]))


class AccessDecisionController(Controller):
    """``/demandes-acces``: the requests a direction, school admin, délégué PO or the Administration decides on,
    and the granted accesses they may revoke."""

    path = "/demandes-acces"
    opt = {"permission": "access.decide"}

    @staticmethod
    async def _list_page(request: Request, status_code: int = 200, *, filter_code: str = "", notice: str = "",
                         row_errors: dict | None = None, top_error: str = "", **extra) -> Response:
        user = current_user(request)
        # The fragment (one row, for htmx) needs no list: only the full page reads it.
        rows = {} if is_htmx(request) else await access.list_requests(user.active,
                                                                       access.STATUS_FILTERS.get(filter_code))
        return page_or_fragment(request, LIST_TEMPLATE, ROW_TEMPLATE, status_code=status_code, rows=rows,
                                filter_code=filter_code, status_choices=STATUS_CHOICES, notice=notice,
                                row_errors=row_errors or {}, top_error=top_error, **extra)

    @get("/")
    async def index(self, request: Request, statut: FromQuery[str] = "",
                    traitee: FromQuery[int | None] = None) -> Response:
        """Pending requests first, then the latest decided ones; ``?statut=`` filters."""
        if statut and statut not in access.STATUS_FILTERS:
            raise ValidationException("statut inconnu")
        notice = ""
        if traitee is not None:
            try:
                row = await access.request_for(current_user(request), traitee)
            except AccessError:
                row = None
            if row is not None and row["status"] != "pending":
                notice = f"Demande de {row['name']} : {row['status_label'].lower()}. {row['decision_note']}".strip()
        return await self._list_page(request, filter_code=statut, notice=notice)

    async def _decided(self, request: Request, request_id: int, action) -> Response:
        """Run a decision; htmx gets the row back, a plain form a 303 to the list (errors: row or page)."""
        user = current_user(request)
        try:
            row = await action(user)
        except AccessError as error:
            if error.status == 404:
                raise NotFoundException(error.message) from None
            try:
                row = await access.request_for(user, request_id)  # the row as it is now
            except AccessError:  # pragma: no cover - it was found a moment ago
                raise NotFoundException(error.message) from None
            message = error.message
            return await self._list_page(request, error.status, r=row, error=message, just_decided=False,
                                         row_errors={request_id: message}, top_error=message)
        if is_htmx(request):
            return page(request, ROW_TEMPLATE, r=row, error=None, just_decided=True)
        return redirect(request, f"/demandes-acces?traitee={request_id}")

    @post("/{request_id:int}/accepter")
    async def approve(self, request: Request, request_id: FromPath[int]) -> Response:
        """Approve: the account and the affiliation are created, the requester is told."""
        return await self._decided(request, request_id, lambda user: access.approve(user, request_id))

    @post("/{request_id:int}/refuser")
    async def refuse(self, request: Request, request_id: FromPath[int], data: Form) -> Response:
        """Refuse with a required reason; the requester is told."""
        reason = _field(data, "reason")[: access.REASON_MAX + 1]
        return await self._decided(request, request_id, lambda user: access.refuse(user, request_id, reason))

    @get("/acces")
    async def affiliations(self, request: Request, q: FromQuery[str] = "", page_number: PageNumber = 1,
                           revoquee: FromQuery[int | None] = None) -> Response:
        """The active accesses in the decider's scope, each with a « Révoquer » button."""
        user = current_user(request)
        search = q[:100]
        rows, total = await access.list_affiliations(user.active, search, page_number)
        pages = max(1, -(-total // access.AFFILIATIONS_PER_PAGE))
        notice = await access.revocation_notice(user, revoquee) if revoquee is not None else ""
        return page(request, "accounts/access/affiliations.html", rows=rows, total=total, q=search,
                    page_number=min(page_number, pages), pages=pages, notice=notice)

    @get("/acces/{affiliation_id:int}/revoquer")
    async def revoke_form(self, request: Request, affiliation_id: FromPath[int]) -> Response:
        """Confirmation of a revocation: what stops, and the reason to give."""
        return await self._revoke_page(request, affiliation_id)

    async def _revoke_page(self, request: Request, affiliation_id: int, status_code: int = 200,
                           errors: list[str] | None = None, reason: str = "") -> Response:
        try:
            row = await access.affiliation_for(current_user(request), affiliation_id)
        except AccessError as error:
            _raise_http(error)
            return page(request, "errors/error.html", status_code=error.status, title="Révocation impossible",
                        message=error.message)
        return page(request, "accounts/access/revoke.html", status_code=status_code, a=row, errors=errors or [],
                    reason=reason, limit=access.REASON_MAX)

    @post("/acces/{affiliation_id:int}/revoquer")
    async def revoke(self, request: Request, affiliation_id: FromPath[int], data: Form) -> Response:
        """Revoke (annex 5): the access stops at once; then back to the list."""
        reason = _field(data, "reason")[: access.REASON_MAX + 1]
        try:
            await access.revoke(current_user(request), affiliation_id, reason)
        except AccessError as error:
            if error.status == 400:
                return await self._revoke_page(request, affiliation_id, 400, list(error.errors.values()),
                                               reason[: access.REASON_MAX])
            _raise_http(error)
            return page(request, "errors/error.html", status_code=error.status, title="Révocation impossible",
                        message=error.message)
        return redirect(request, f"/demandes-acces/acces?revoquee={affiliation_id}")


ROUTES: list = [AccessRequestController, AccessDecisionController]
