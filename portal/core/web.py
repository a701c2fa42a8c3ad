"""The web plumbing shared by every domain: who is asking, the permission guard, rendering, errors."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.params import Body
from litestar.response import Redirect, Template
from litestar.response.base import ASGIResponse
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState

from portal.accounts.identity import CurrentUser
from portal.accounts.sessions import user_for_token
from portal.i18n import current_language, pick_language
from portal.permissions import allowed

#: A URL-encoded form body (every plain form of the portal posts one).
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]

SESSION_COOKIE = "portal_session"
LANG_COOKIE = "portal_lang"


class IdentityMiddleware(ASGIMiddleware):
    """Puts the person behind the session cookie (or None) in ``scope["user"]`` and sets the language."""

    scopes = ("http",)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Resolve the session once per request."""
        cookies = _cookies(scope)
        current_language.set(pick_language(cookies.get(LANG_COOKIE)))
        scope["user"] = None
        path = scope.get("path", "")
        if not path.startswith("/static/") and path != "/healthz":
            token = cookies.get(SESSION_COOKIE)
            if token:
                scope["user"] = await user_for_token(token)
        await next_app(scope, receive, send)


def _cookies(scope: Scope) -> dict[str, str]:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            result = {}
            for part in value.decode("latin-1").split(";"):
                if "=" in part:
                    key, _, val = part.strip().partition("=")
                    result[key] = val
            return result
    return {}


class ChooseProfile(HTTPException):
    """Raised when a signed-in person has not yet chosen which affiliation to act for."""

    status_code = 409


async def permission_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Enforce the permission table on every route: closed unless the route says otherwise.

    A coroutine although it awaits nothing: Litestar runs a plain function guard in its thread pool, a hand-off
    to another thread and back on every request."""
    opt = handler.opt
    if opt.get("public"):
        return
    user: CurrentUser | None = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException("Connexion requise.")
    if opt.get("signed_in"):
        return
    if user.active is None:
        raise ChooseProfile("Choisissez le profil pour lequel vous agissez.")
    action = opt.get("permission")
    if not action or not allowed(user.profile, action):
        raise PermissionDeniedException("Votre profil ne permet pas cette action.")


def current_user(request: Request) -> CurrentUser:
    """The signed-in person (the guard has made sure there is one)."""
    user = request.scope.get("user")
    if user is None:  # pragma: no cover - the guard runs first
        raise NotAuthorizedException("Connexion requise.")
    return user


def is_htmx(request: Request) -> bool:
    """True for an htmx request that wants a fragment.

    A boosted link wants the whole page, and so does htmx rebuilding a page from history (Back button).
    """
    headers = request.headers
    return (headers.get("hx-request") == "true" and headers.get("hx-boosted") != "true"
            and headers.get("hx-history-restore-request") != "true")


#: A chunk of a page at least this long is encoded on its own (:class:`LargePage`).
LARGE_CHUNK = 8192


def encode_chunks(chunks, encoding: str = "utf-8") -> bytes:
    """A page's chunks as bytes: the long ones encoded one by one, the short ones joined first.

    Joining a page into one ``str`` before encoding it costs twice when most of it is ASCII and a few words are
    not: Python widens the whole page to two bytes a character, then encodes that (2 ms for a 500 KB grid, against
    0.1 ms chunk by chunk: an ASCII chunk is encoded by a plain copy)."""
    parts: list[bytes] = []
    short: list[str] = []
    for chunk in chunks:
        if len(chunk) < LARGE_CHUNK:
            short.append(chunk)
            continue
        if short:
            parts.append("".join(short).encode(encoding))
            short = []
        parts.append(str.encode(chunk, encoding))
    if short:
        parts.append("".join(short).encode(encoding))
    return b"".join(parts)


class LargePage(Template):
    """A page rendered as Litestar's :class:`Template` renders it, encoded by :func:`encode_chunks` (for pages
    made mostly of one long block written in ASCII, such as an evaluation grid)."""

    def to_asgi_response(self, app, request: Request, *, background=None, cookies=None, encoded_headers=None,
                         headers=None, is_head_response: bool = False, media_type=None, status_code=None,
                         type_encoders=None) -> ASGIResponse:
        """The page's bytes, with the headers, cookies and status the handler and the app give."""
        template = request.app.template_engine.get_template(self.template_name)
        body = encode_chunks(template.generate(**self.create_template_context(request)), self.encoding)
        return ASGIResponse(
            background=self.background or background, body=body, content_length=None,
            cookies=self.cookies if cookies is None else [*self.cookies, *cookies], encoded_headers=encoded_headers,
            encoding=self.encoding, headers={**headers, **self.headers} if headers is not None else self.headers,
            is_head_response=is_head_response, media_type=self.media_type or media_type or "text/html",
            status_code=self.status_code or status_code,
        )


def csrf_token(request: Request) -> str:
    """The request's CSRF token, as templates get it from ``csrf_token()`` (for HTML written in Python)."""
    return value_or_default(ScopeState.from_scope(request.scope).csrf_token, "")


def page(request: Request, template: str, status_code: int = 200, *, large: bool = False,
         **context: Any) -> Template:
    """Render a full page with the person and the permission helper in its context (``large``: see
    :class:`LargePage`)."""
    user = request.scope.get("user")
    return (LargePage if large else Template)(
        template_name=template,
        context={"user": user, "can": (user.can if user else (lambda _action: False)), **context},
        status_code=status_code,
    )


def page_or_fragment(request: Request, template: str, fragment: str, status_code: int = 200, **context: Any) -> Template:
    """The same data as a full page, or as the fragment htmx swaps in (one partial serves both).

    The answer varies on ``HX-Request``: caches must not serve the fragment for the page or the other way round.
    """
    response = page(request, fragment if is_htmx(request) else template, status_code=status_code, **context)
    response.headers["Vary"] = "HX-Request"
    return response


def redirect(request: Request, url: str) -> Response:
    """After a change: a 303 for plain forms, an HX-Redirect for htmx."""
    if request.headers.get("hx-request") == "true":
        return Response(content=None, status_code=200, headers={"HX-Redirect": url})
    return Redirect(path=url, status_code=303)


# --- errors: French pages, never a stack trace ---------------------------------------------------------------


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    return page(request, "errors/error.html", status_code=status, title=title, message=message)


def not_authorized_handler(request: Request, exc: NotAuthorizedException) -> Response:
    """Anonymous on a protected page: to the login page, then back."""
    target = "/login?suivant=" + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    if request.headers.get("hx-request") == "true":
        return Response(content=None, status_code=401, headers={"HX-Redirect": target})
    if request.method in {"GET", "HEAD"}:
        return Redirect(path=target, status_code=303)
    return _error_page(request, 401, "Connexion requise", "Votre session a expiré. Reconnectez-vous pour continuer.")


def choose_profile_handler(request: Request, exc: ChooseProfile) -> Response:
    """Signed in but no affiliation chosen: to the chooser."""
    target = "/choisir-profil"
    if request.headers.get("hx-request") == "true":
        return Response(content=None, status_code=409, headers={"HX-Redirect": target})
    return Redirect(path=target, status_code=303)


def forbidden_handler(request: Request, exc: PermissionDeniedException) -> Response:
    """403 in French. A failed CSRF check says what to do about it."""
    if "CSRF" in str(exc.detail):
        message = (
            "Le jeton de sécurité du formulaire est absent ou invalide. Rechargez la page puis recommencez ; "
            "rien n'a été modifié."
        )
    else:
        message = exc.detail if exc.detail and exc.detail != "Forbidden" else "Vous n'avez pas accès à cette page."
    return _error_page(request, 403, "Accès refusé", message)


def not_found_handler(request: Request, exc: NotFoundException) -> Response:
    """404 in French."""
    detail = exc.detail if exc.detail and exc.detail != "Not Found" else "La page demandée n'existe pas."
    return _error_page(request, 404, "Page introuvable", detail)


def validation_handler(request: Request, exc: ValidationException) -> Response:
    """400 in French: a value of the request is not of the expected form."""
    return _error_page(request, 400, "Requête invalide",
                       "Une valeur envoyée n'a pas la forme attendue. Rien n'a été modifié.")


def http_error_handler(request: Request, exc: HTTPException) -> Response:
    """Other HTTP errors in French."""
    titles = {405: "Méthode non autorisée", 413: "Envoi trop volumineux", 429: "Trop de requêtes"}
    title = titles.get(exc.status_code, "Erreur")
    return _error_page(request, exc.status_code, title, "La requête n'a pas pu être traitée. Rien n'a été modifié.")


def server_error_handler(request: Request, exc: Exception) -> Response:
    """500 in French; the details go to the log, not to the person."""
    request.logger.exception("Erreur interne", exc_info=exc)
    return _error_page(request, 500, "Erreur interne",
                       "Une erreur inattendue s'est produite. Elle a été consignée ; réessayez plus tard.")


EXCEPTION_HANDLERS = {
    NotAuthorizedException: not_authorized_handler,
    ChooseProfile: choose_profile_handler,
    PermissionDeniedException: forbidden_handler,
    NotFoundException: not_found_handler,
    ValidationException: validation_handler,
    HTTPException: http_error_handler,
    500: server_error_handler,
}
