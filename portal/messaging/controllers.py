"""Pages of messaging: the Administration's messages, the contact form and the outbox reader (SPEC §3, §4).

Every page works without JavaScript (plain forms, 303 redirects, full pages); with htmx the message list and the
outbox table are swapped in place, and the same partial template serves both.
"""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery

from portal.core.web import Form, current_user, is_htmx, page_or_fragment, redirect
from portal.core.web import page as render
from portal.directory.services import pole_choices
from portal.messaging import services
from portal.settings import settings

LIST_PARTIAL = "messaging/partials/message_list.html"
OUTBOX_PARTIAL = "messaging/partials/outbox_table.html"


def query_prefix(path: str, **params: object) -> str:
    """``path?`` followed by the non-empty ``params`` and a trailing ``&``, ready for ``page=N``."""
    kept = {key: value for key, value in params.items() if value not in (None, "")}
    return f"{path}?{urlencode(kept)}&" if kept else f"{path}?"


class MessagesController(Controller):
    """``/messages``: the Administration writes and deletes the messages shown on dashboards."""

    path = "/messages"
    opt = {"permission": "messages.write"}

    async def _page(self, request: Request, page: int = 1, status_code: int = 200, errors: list[str] | None = None,
                    form: dict | None = None, created: str | None = None, oob: bool = False,
                    template: str = "messaging/messages.html"):
        listing = await services.list_messages(page)
        return render(
            request, template, status_code=status_code, listing=listing, poles=await pole_choices(),
            errors=errors or [], form=form or {"kind": "applicatif"}, created=created, oob=oob,
            base=query_prefix("/messages"),
        )

    @get("/", name="messages")
    async def index(self, request: Request, page: FromQuery[int] = 1) -> Response:
        """The form and the list of messages, newest first (htmx: the list alone)."""
        if is_htmx(request):
            listing = await services.list_messages(page)
            return page_or_fragment(request, "messaging/messages.html", LIST_PARTIAL, listing=listing,
                                    base=query_prefix("/messages"))
        return await self._page(request, page)

    @post("/")
    async def create(self, request: Request, data: Form) -> Response:
        """Publish a message. JS off: 303 to the list; htmx: the new list, and a fresh form out of band."""
        user = current_user(request)
        try:
            await services.create_message(user, data)
        except services.MessagingError as error:
            form = {key: data.get(key, "") for key in ("kind", "subject", "body", "establishment", "pole")}
            if is_htmx(request):
                response = render(request, "messaging/partials/message_form.html", status_code=400,
                                  poles=await pole_choices(), errors=error.messages, form=form, created=None,
                                  oob=False)
                response.headers["HX-Retarget"] = "#message-form-panel"
                response.headers["HX-Reswap"] = "outerHTML"
                return response
            return await self._page(request, status_code=400, errors=error.messages, form=form)
        if is_htmx(request):
            return await self._page(request, template="messaging/partials/message_created.html",
                                    created=data.get("subject", "").strip(), oob=True)
        return redirect(request, "/messages")

    @get("/{message_id:int}/supprimer")
    async def confirm_delete(self, request: Request, message_id: FromPath[int]) -> Response:
        """Ask for confirmation before deleting a message."""
        message = await services.get_message(message_id)
        if message is None:
            raise NotFoundException("Ce message n'existe pas ou a déjà été supprimé.")
        return render(request, "messaging/delete.html", message=message)

    @post("/{message_id:int}/supprimer")
    async def delete(self, request: Request, message_id: FromPath[int]) -> Response:
        """Delete the message, then back to the list."""
        if not await services.delete_message(current_user(request), message_id):
            raise NotFoundException("Ce message n'existe pas ou a déjà été supprimé.")
        return redirect(request, "/messages")


class ContactController(Controller):
    """``/contact``: every signed-in profile writes to the support."""

    path = "/contact"
    opt = {"permission": "contact.send"}

    @get("/", name="contact")
    async def form(self, request: Request, envoye: FromQuery[str | None] = None) -> Response:
        """The contact form; after sending, it says so."""
        return render(request, "messaging/contact.html", errors=[], form={}, sent=envoye == "1",
                      address=settings.contact_address)

    @post("/")
    async def send(self, request: Request, data: Form) -> Response:
        """Send the message to the support address, then show the confirmation (post/redirect/get)."""
        try:
            await services.send_contact(current_user(request), data)
        except services.MessagingError as error:
            form = {"subject": data.get("subject", ""), "message": data.get("message", "")}
            return render(request, "messaging/contact.html", status_code=400, errors=error.messages, form=form,
                          sent=False, address=settings.contact_address)
        return redirect(request, "/contact?envoye=1")


class OutboxController(Controller):
    """``/courriels``: the mails the portal sent, for school administrators (their establishment) and the
    Administration (all)."""

    path = "/courriels"
    opt = {"permission": "outbox.read"}

    @get("/", name="outbox")
    async def index(self, request: Request, recherche: FromQuery[str] = "", page: FromQuery[int] = 1) -> Response:
        """The mails, newest first, filtered on recipient and subject (htmx: the table alone)."""
        search = recherche.strip()
        error = None
        if len(search) > services.SEARCH_MAX:
            error = f"La recherche ne peut pas dépasser {services.SEARCH_MAX} caractères."
            search = ""
        user = current_user(request)
        listing = await services.list_outbox(user, search, page)
        return page_or_fragment(
            request, "messaging/outbox.html", OUTBOX_PARTIAL, status_code=400 if error else 200,
            listing=listing, search=search if not error else recherche[: services.SEARCH_MAX], error=error,
            everything=services.outbox_scope(user) is True, base=query_prefix("/courriels", recherche=search),
        )

    @get("/{mail_id:int}")
    async def show(self, request: Request, mail_id: FromPath[int]) -> Response:
        """One mail, whole, when it is within the person's scope (else a French 404)."""
        mail = await services.get_mail(current_user(request), mail_id)
        if mail is None:
            raise NotFoundException("Ce courriel n'existe pas ou ne concerne pas votre établissement.")
        return render(request, "messaging/outbox_mail.html", mail=mail)


ROUTES: list = [MessagesController, ContactController, OutboxController]
