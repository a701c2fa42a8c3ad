"""The benchmarks' baseline endpoint, mounted only when ``PORTAL_BENCH_ENDPOINTS=1``.

``POST /bench/baseline`` is the cheapest signed-in request the portal can serve that still writes: the identity
middleware resolves the session (its two queries), the guard checks the permission, the handler does ONE UPDATE
and renders a tiny fragment. ``bench/run.py`` measures it in the same run as the real pages, so each page's figure
can be quoted as a ratio of the server's fixed costs.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, post

from portal.accounts.tables import UserSession
from portal.core.clock import now
from portal.core.web import current_user, page


class BaselineController(Controller):
    """``/bench``: the baseline of the load runner."""

    path = "/bench"

    # Excluded from CSRF on purpose: this route exists only on a server started for a benchmark.
    @post("/baseline", opt={"permission": "dashboard.view", "exclude_from_csrf": True}, status_code=200,
          name="bench_baseline", cache=False)
    async def baseline(self, request: Request) -> Response:
        """One UPDATE of the caller's own session row, then a one-line fragment."""
        user = current_user(request)
        stamp = now()
        await UserSession.update({UserSession.user_agent: f"bench {stamp.isoformat()}"}).where(
            UserSession.id == user.session_id)
        return page(request, "benchmark/baseline.html", stamp=stamp)


ROUTES: list = [BaselineController]
