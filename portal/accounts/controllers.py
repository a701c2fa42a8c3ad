"""Pages of signing in and of one's own account: login, logout, profile chooser, activation, account page."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from portal.accounts import services, sessions
from portal.core.web import (
    LANG_COOKIE,
    SESSION_COOKIE,
    Form,
    current_user,
    page,
    redirect,
)
from portal.i18n import LANGUAGES
from portal.settings import settings


def _safe_next(target: str | None) -> str:
    """Only local paths are followed after login (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _session_cookie(token: str) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE, value=token, httponly=True, secure=settings.secure_cookies, samesite="lax",
        max_age=settings.session_hours * 3600, path="/",
    )


class AuthController(Controller):
    """Login, logout and the profile chooser."""

    @get("/login", opt={"public": True}, name="login")
    async def login_page(self, request: Request, suivant: FromQuery[str | None] = None) -> Response:
        """The login form; someone already signed in goes home."""
        if request.scope.get("user"):
            return Redirect(path="/", status_code=303)
        return page(request, "accounts/login.html", next=_safe_next(suivant), username="", error=None)

    @post("/login", opt={"public": True})
    async def login_submit(self, request: Request, data: Form) -> Response:
        """Check the credentials; on success set the session cookie and go to the dashboard or the chooser."""
        username = (data.get("username") or "")[:255]
        target = _safe_next(data.get("next"))
        client = request.client.host if request.client else "?"
        result = await sessions.login(username, data.get("password") or "", client,
                                      request.headers.get("user-agent", ""))
        if result.error:
            return page(request, "accounts/login.html", status_code=200 if not result.error.startswith("Trop") else 429,
                        next=target, username=username, error=result.error)
        user = await sessions.user_for_token(result.token)
        destination = target if user and user.active else "/choisir-profil?suivant=" + target
        response = Redirect(path=destination, status_code=303)
        response.set_cookie(_session_cookie(result.token))
        return response

    @post("/logout", opt={"signed_in": True})
    async def logout(self, request: Request) -> Response:
        """Close the session."""
        await sessions.logout(current_user(request))
        response = Redirect(path="/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @get("/choisir-profil", opt={"signed_in": True}, name="choose_profile")
    async def chooser(self, request: Request, suivant: FromQuery[str | None] = None) -> Response:
        """The list of one's affiliations, to pick the one to act for."""
        return page(request, "accounts/choose.html", next=_safe_next(suivant), error=None)

    @post("/choisir-profil", opt={"signed_in": True})
    async def choose(self, request: Request, data: Form) -> Response:
        """Act for the chosen affiliation."""
        user = current_user(request)
        raw = data.get("affiliation", "")
        if not raw.isdigit() or not await sessions.choose_affiliation(user, int(raw)):
            return page(request, "accounts/choose.html", status_code=400, next=_safe_next(data.get("next")),
                        error="Choisissez l'un des profils de la liste.")
        return redirect(request, _safe_next(data.get("next")))

    @post("/langue", opt={"public": True})
    async def language(self, request: Request, data: Form) -> Response:
        """Switch the interface language (kept in a cookie)."""
        lang = data.get("lang", "fr")
        response = Redirect(path=_safe_next(data.get("next")), status_code=303)
        if lang in LANGUAGES:
            response.set_cookie(Cookie(key=LANG_COOKIE, value=lang, max_age=365 * 86400, samesite="lax", path="/"))
        return response


class ActivationController(Controller):
    """One-time activation of a new or reset account."""

    path = "/activation"

    @get("/{token:str}", opt={"public": True})
    async def form(self, request: Request, token: FromPath[str]) -> Response:
        """The form to choose one's password, if the link is still valid."""
        account = await services.account_for_activation(token)
        if account is None:
            return page(request, "accounts/activation.html", status_code=404, account=None, token=token, errors=[
                "Ce lien d'activation n'est plus valable (déjà utilisé ou expiré). Demandez-en un nouveau."])
        return page(request, "accounts/activation.html", account=account, token=token, errors=[])

    @post("/{token:str}", opt={"public": True})
    async def submit(self, request: Request, token: FromPath[str], data: Form) -> Response:
        """Set the password, then go to the login page."""
        try:
            account = await services.activate(token, data.get("password", ""), data.get("confirmation", ""))
        except services.AccountError as error:
            account = await services.account_for_activation(token)
            return page(request, "accounts/activation.html", status_code=400 if account else 404,
                        account=account, token=token, errors=error.messages)
        return page(request, "accounts/activated.html", account=account)


class MyAccountController(Controller):
    """One's own account: password, e-mail, contextual help."""

    path = "/compte"
    opt = {"permission": "account.manage_own"}

    @get("/", name="my_account")
    async def show(self, request: Request) -> Response:
        """The account page."""
        return page(request, "accounts/account.html", errors={}, done=None)

    @post("/mot-de-passe")
    async def password(self, request: Request, data: Form) -> Response:
        """Change one's password."""
        user = current_user(request)
        try:
            await services.change_password(user, data.get("current", ""), data.get("password", ""),
                                           data.get("confirmation", ""))
        except services.AccountError as error:
            return page(request, "accounts/account.html", status_code=400, errors={"password": error.messages},
                        done=None)
        return page(request, "accounts/account.html", errors={}, done="Votre mot de passe a été changé.")

    @post("/email")
    async def email(self, request: Request, data: Form) -> Response:
        """Change one's e-mail address."""
        user = current_user(request)
        try:
            await services.change_email(user, data.get("password", ""), data.get("email", ""))
        except services.AccountError as error:
            return page(request, "accounts/account.html", status_code=400, errors={"email": error.messages},
                        done=None)
        user.email = data.get("email", "").strip()
        return page(request, "accounts/account.html", errors={}, done="Votre adresse e-mail a été changée.")

    @post("/aide")
    async def help_switch(self, request: Request, data: Form) -> Response:
        """Switch the contextual help on or off, then back to where the person was."""
        user = current_user(request)
        await services.set_help(user, data.get("enabled") == "1")
        return redirect(request, _safe_next(data.get("next")))
