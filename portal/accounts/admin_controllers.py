"""Routes of the administrators' user management (``/utilisateurs``): list, export, create, edit, hide, reset.

Every route needs the ``users.manage`` action; the scope (one establishment, or everything for the
Administration) is checked by :mod:`portal.accounts.admin_services` for every request, and an account outside it
answers 404 like an unknown one. Row actions swap the row in place for htmx and redirect (303) for plain forms.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery

from portal.accounts import admin_services as admin
from portal.core import web
from portal.core.web import Form
from portal.directory.services import pole_choices

LIST_TEMPLATE = "accounts/admin/list.html"
TABLE_TEMPLATE = "accounts/admin/partials/table.html"
ROW_TEMPLATE = "accounts/admin/partials/row.html"
DETAIL_TEMPLATE = "accounts/admin/detail.html"
NEW_TEMPLATE = "accounts/admin/new.html"
NOT_FOUND = "Ce compte n'existe pas ou ne relève pas de votre établissement."

#: ``?fait=…`` after a plain-form change → the confirmation shown.
NOTICES = {
    "cree": "Le compte a été créé. Un lien d'activation à usage unique a été envoyé à son adresse e-mail.",
    "modifie": "Les modifications ont été enregistrées.",
    "inchange": "Aucune modification à enregistrer.",
    "reinitialise": "Le mot de passe a été retiré et un nouveau lien d'activation a été envoyé.",
    "masque": "Le compte est masqué : il n'apparaît plus dans la liste (sauf si vous affichez les comptes masqués).",
    "affiche": "Le compte est de nouveau affiché dans la liste.",
}
ROW_NOTICES = {
    "reinitialise": "Nouveau lien d'activation envoyé.",
    "masque": "Compte masqué.",
    "affiche": "Compte réaffiché.",
}


def _back(target: str | None, default: str = "/utilisateurs") -> str:
    """Where a plain form returns: only pages of this module (no open redirect)."""
    if target and target.startswith("/utilisateurs") and "//" not in target and "\\" not in target:
        return target
    return default


def _with_notice(url: str, code: str, **extra: str) -> str:
    """``url`` with ``fait=code`` (and ``extra``) replacing any earlier notice in its query."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in {"fait", "n", *extra}]
    query += [("fait", code), *extra.items()]
    return urlunsplit(("", "", parts.path, urlencode(query), ""))


def _out_of_scope(request: Request, exc: admin.OutOfScope) -> Response:
    """An unknown account, or one outside the person's scope: the same French 404 (nothing leaks)."""
    return web.not_found_handler(request, NotFoundException(NOT_FOUND))


def _refusal(request: Request, error: admin.AdminError, status: int = 400) -> Response:
    """A refused change outside a form: the French error page."""
    return web.page(request, "errors/error.html", status_code=status, title="Modification refusée",
                    message=" ".join(error.messages))


class UserAdminController(Controller):
    """``/utilisateurs``: the accounts of the establishment acted for (all accounts for the Administration)."""

    path = "/utilisateurs"
    opt = {"permission": "users.manage"}
    exception_handlers = {admin.OutOfScope: _out_of_scope}

    async def _list_context(self, request: Request, q: str | None, profil: str | None, masques: str | None,
                            page: str | None) -> dict:
        user = web.current_user(request)
        criteria = admin.parse_criteria(q, profil, masques, page, admin.filter_profiles(user))
        listing = await admin.list_accounts(user, criteria)
        return {"listing": listing, "criteria": listing.criteria, "scope": admin.scope_of(user),
                "profiles": admin.filter_profiles(user), "back": listing.criteria.url()}

    @get("/", name="users_list")
    async def index(self, request: Request, q: FromQuery[str | None] = None, profil: FromQuery[str | None] = None,
                    masques: FromQuery[str | None] = None, page: FromQuery[str | None] = None,
                    fait: FromQuery[str | None] = None, n: FromQuery[str | None] = None) -> Response:
        """The list; an htmx request (filter, pager) gets only the table, which the full page includes."""
        context = await self._list_context(request, q, profil, masques, page)
        if fait == "reinitialises" and (n or "").isdigit():
            context["notice"] = f"{int(n)} compte(s) réinitialisé(s) : chacun a reçu un nouveau lien d'activation."
        else:
            context["notice"] = NOTICES.get(fait or "")
        return web.page_or_fragment(request, LIST_TEMPLATE, TABLE_TEMPLATE, **context)

    @get("/export.csv", name="users_export")
    async def export(self, request: Request, q: FromQuery[str | None] = None, profil: FromQuery[str | None] = None,
                     masques: FromQuery[str | None] = None) -> Response:
        """The filtered list (every page) as CSV for Excel."""
        user = web.current_user(request)
        criteria = admin.parse_criteria(q, profil, masques, None, admin.filter_profiles(user))
        rows = await admin.export_accounts(user, criteria)
        return Response(
            content=admin.csv_bytes(rows), media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="utilisateurs.csv"', "Cache-Control": "no-store"},
        )

    async def _new_form(self, request: Request, status: int = 200, form: admin.NewAccount | None = None,
                        errors: list[str] | None = None) -> Response:
        user = web.current_user(request)
        scope = admin.scope_of(user)
        return web.page(request, NEW_TEMPLATE, status_code=status, form=form or admin.NewAccount(),
                        errors=errors or [], scope=scope, profiles=admin.creatable_profiles(user),
                        poles=await pole_choices() if scope.everything else [])

    @get("/nouveau", name="users_new")
    async def new(self, request: Request) -> Response:
        """The creation form."""
        return await self._new_form(request)

    @post("/nouveau")
    async def create(self, request: Request, data: Form) -> Response:
        """Create the account, mail its activation link, then show it."""
        form = admin.NewAccount.from_form(data)
        try:
            created = await admin.create_account(web.current_user(request), form)
        except admin.AdminError as error:
            return await self._new_form(request, status=400, form=form, errors=error.messages)
        return web.redirect(request, f"/utilisateurs/{created.id}?fait=cree")

    @post("/reinitialiser")
    async def reset_many(self, request: Request) -> Response:
        """Reset every ticked account of the list, all or nothing."""
        user = web.current_user(request)
        form = await request.form()
        back = _back(form.get("retour"))
        try:
            ids = admin.parse_ids(form.getall("ids") if "ids" in form else [])
            names = await admin.reset_accounts(user, ids)
        except admin.AdminError as error:
            return _refusal(request, error)
        return web.redirect(request, _with_notice(back, "reinitialises", n=str(len(names))))

    async def _detail(self, request: Request, account_id: int, status: int = 200, errors: list[str] | None = None,
                      notice: str | None = None, values: dict | None = None, lost: dict | None = None) -> Response:
        user = web.current_user(request)
        account = await self._account(request, account_id)
        values = values or {"first_name": account.first_name, "last_name": account.last_name, "email": account.email}
        return web.page(request, DETAIL_TEMPLATE, status_code=status, account=account, errors=errors or [],
                        notice=notice, values=values, lost=lost, scope=admin.scope_of(user),
                        is_self=account.id == user.account_id)

    async def _account(self, request: Request, account_id: int) -> admin.AccountRow:
        return await admin.get_account(web.current_user(request), account_id)

    @get("/{account_id:int}", name="users_detail")
    async def detail(self, request: Request, account_id: FromPath[int], fait: FromQuery[str | None] = None) -> Response:
        """One account: its facts, the edit form and the actions."""
        return await self._detail(request, account_id, notice=NOTICES.get(fait or ""))

    @post("/{account_id:int}")
    async def update(self, request: Request, account_id: FromPath[int], data: Form) -> Response:
        """Save names and e-mail; a form older than the account is refused (409)."""
        user = web.current_user(request)
        values = {key: admin.clean(data.get(key)) for key in ("first_name", "last_name", "email")}
        try:
            changed = await admin.update_account(user, account_id, values["first_name"], values["last_name"],
                                                 values["email"], data.get("version"))
        except admin.StaleVersion as error:
            return await self._detail(request, account_id, status=409, errors=error.messages, lost=values)
        except admin.AdminError as error:
            return await self._detail(request, account_id, status=400, errors=error.messages, values=values)
        return web.redirect(request, f"/utilisateurs/{account_id}?fait={'modifie' if changed else 'inchange'}")

    async def _row_action(self, request: Request, account_id: int, data: dict[str, str], code: str) -> Response:
        """Run a row action; htmx gets the row back, a plain form goes back where it came from."""
        user = web.current_user(request)
        try:
            if code == "reinitialise":
                await admin.reset_account(user, account_id)
            else:
                await admin.set_hidden(user, account_id, hidden=code == "masque")
        except admin.AdminError as error:
            return _refusal(request, error)
        back = _back(data.get("retour"))
        if web.is_htmx(request):
            row = await self._account(request, account_id)
            return web.page(request, ROW_TEMPLATE, row=row, back=back, row_notice=ROW_NOTICES[code],
                            scope=admin.scope_of(user))
        return web.redirect(request, _with_notice(back, code))

    @post("/{account_id:int}/masquer")
    async def hide(self, request: Request, account_id: FromPath[int], data: Form) -> Response:
        """Hide a manual account from the list."""
        return await self._row_action(request, account_id, data, "masque")

    @post("/{account_id:int}/afficher")
    async def unhide(self, request: Request, account_id: FromPath[int], data: Form) -> Response:
        """Show a hidden manual account again."""
        return await self._row_action(request, account_id, data, "affiche")

    @post("/{account_id:int}/reinitialiser")
    async def reset(self, request: Request, account_id: FromPath[int], data: Form) -> Response:
        """Withdraw the password and mail a new activation link."""
        return await self._row_action(request, account_id, data, "reinitialise")


ROUTES: list = [UserAdminController]
