"""The one place that builds the Litestar application."""

from __future__ import annotations

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.logging import LoggingConfig
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine as Jinja
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from portal.accounts import access_controllers, admin_controllers
from portal.accounts.controllers import (
    ActivationController,
    AuthController,
    MyAccountController,
)
from portal.benchmark import controllers as benchmark_controllers
from portal.competencies import controllers as competency_controllers
from portal.competencies import evaluation_controllers, scenario_controllers
from portal.conventions import controllers as convention_controllers
from portal.core import heap
from portal.core.db import close_database, open_database
from portal.core.templating import build_environment
from portal.core.web import EXCEPTION_HANDLERS, IdentityMiddleware, permission_guard
from portal.dashboards.controllers import DashboardController, HealthController
from portal.documents import pdf
from portal.history import controllers as history_controllers
from portal.imports import controllers as import_controllers
from portal.messaging import controllers as messaging_controllers
from portal.settings import ROOT, settings
from portal.uaa import (
    attestation_controllers,
    encoding_controllers,
    learner_controllers,
    transfer_controllers,
)

# Each domain's route handlers; a new module adds its controllers here.
ROUTE_HANDLERS: list = [
    AuthController,
    ActivationController,
    MyAccountController,
    DashboardController,
    HealthController,
    *admin_controllers.ROUTES,
    *access_controllers.ROUTES,
    *messaging_controllers.ROUTES,
    *history_controllers.ROUTES,
    *import_controllers.ROUTES,
    *learner_controllers.ROUTES,
    *encoding_controllers.ROUTES,
    *attestation_controllers.ROUTES,
    *transfer_controllers.ROUTES,
    *convention_controllers.ROUTES,
    *scenario_controllers.ROUTES,
    *evaluation_controllers.ROUTES,
    *competency_controllers.ROUTES,
]


def create_app() -> Litestar:
    """Build the application: routes, templates, CSRF, identity, permission guard, French errors."""
    environment = build_environment()

    def settle_heap() -> None:
        heap.settle(environment)

    return Litestar(
        route_handlers=[
            *ROUTE_HANDLERS,
            *(benchmark_controllers.ROUTES if settings.bench_endpoints else []),
            create_static_files_router(path="/static", directories=[ROOT / "static"], opt={"public": True},
                                       name="static", include_in_schema=False),
        ],
        template_config=TemplateConfig(instance=Jinja.from_environment(environment)),
        csrf_config=CSRFConfig(secret=settings.secret_key, cookie_secure=settings.secure_cookies,
                               cookie_name="portal_csrf", header_name="x-csrftoken", exclude=["/healthz"]),
        middleware=[IdentityMiddleware()],
        guards=[permission_guard],
        exception_handlers=EXCEPTION_HANDLERS,
        plugins=[HTMXPlugin()],
        on_startup=[open_database, *([settle_heap] if settings.settle_heap else [])],
        on_shutdown=[close_database, pdf.close_pool],
        logging_config=LoggingConfig(log_exceptions="always" if settings.debug else "debug"),
        debug=settings.debug,
        openapi_config=None,
    )


app = create_app()
