"""The dashboard of each profile, the user guide and the health check."""

from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.response import Redirect

from portal.core.db import ping
from portal.core.web import current_user, page
from portal.dashboards import services


class DashboardController(Controller):
    """``/``: the dashboard of the profile acted for."""

    @get("/", opt={"public": True}, name="home")
    async def home(self, request: Request) -> Response:
        """Anonymous visitors go to the login page; others to their dashboard."""
        user = request.scope.get("user")
        if user is None:
            return Redirect(path="/login", status_code=303)
        if user.active is None:
            return Redirect(path="/choisir-profil", status_code=303)
        return Redirect(path="/tableau-de-bord", status_code=303)

    @get("/tableau-de-bord", opt={"permission": "dashboard.view"}, name="dashboard")
    async def dashboard(self, request: Request) -> Response:
        """The dashboard: common blocks plus the profile's own."""
        user = current_user(request)
        boxes = await services.message_boxes(user)
        blocks = await services.blocks_for(user)
        return page(request, f"dashboards/{user.profile.value}.html", boxes=boxes, blocks=blocks)

    @get("/guide", opt={"permission": "guide.read"}, name="guide")
    async def guide(self, request: Request) -> Response:
        """The user guide (French)."""
        return page(request, "pages/guide.html")


class HealthController(Controller):
    """Liveness for load balancers: 200 when the database answers."""

    @get("/healthz", opt={"public": True, "exclude_from_csrf": True}, cache=False)
    async def healthz(self) -> Response:
        """Ask the database for ``SELECT 1``."""
        try:
            ok = await ping()
        except Exception:  # noqa: BLE001 - any failure of the database means "not healthy"
            ok = False
        return Response(content={"status": "ok" if ok else "database unavailable"}, status_code=200 if ok else 503)
