"""The Jinja2 environment: autoescape, gettext, French formats."""

from __future__ import annotations

from datetime import date, datetime

from jinja2 import Environment, FileSystemLoader, pass_environment, select_autoescape
from markupsafe import Markup

from portal import i18n
from portal.core import fragments
from portal.core.clock import day_text, local
from portal.permissions import Profile, allowed
from portal.settings import ROOT


def format_date(value: date | datetime | None) -> str:
    """dd/mm/yyyy, the French way."""
    if value is None:
        return ""
    return day_text(local(value) if isinstance(value, datetime) else value)


def format_datetime(value: datetime | None) -> str:
    """dd/mm/yyyy à HH:MM, Brussels time."""
    if value is None:
        return ""
    return local(value).strftime("%d/%m/%Y à %H:%M")


def format_number(value: float | int | None, digits: int = 0) -> str:
    """Decimal comma and a thin space between thousands."""
    if value is None:
        return ""
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\u202f").replace(".", ",")


_translated: dict[tuple[str, str], Markup] = {}


def template_gettext(message: str, **variables) -> Markup:
    """``_()`` of the templates: what Jinja's newstyle gettext does (the translation is trusted markup, the
    variables are escaped into it), without its two context look-ups per call — a page makes hundreds of calls,
    and they were a fifth of the CPU of rendering a dashboard. Every template is HTML, hence always Markup."""
    key = (i18n.current_language.get(), message)
    translated = _translated.get(key)
    if translated is None:
        translated = _translated[key] = Markup(i18n.gettext(message))
    # newstyle gettext always %-formats (so "%%" means "%"); a string without "%" is its own result
    return translated % variables if "%" in translated else translated


_navigation: dict[tuple[Profile | None, str], Markup] = {}


@pass_environment
def navigation_links(environment: Environment, profile: Profile | None) -> Markup:
    """The links of the main navigation that the permission table gives ``profile``
    (``partials/nav_items.html``), rendered once per profile and language: every page shows them, and asking the
    table link by link was a sixth of a dashboard's rendering."""
    key = (profile, i18n.current_language.get())
    links = _navigation.get(key)
    if links is None:
        template = environment.get_template("partials/nav_items.html")
        links = _navigation[key] = Markup(template.render(can=lambda action: allowed(profile, action)))
    return links


def build_environment() -> Environment:
    """The one Jinja2 environment of the portal."""
    env = Environment(
        loader=FileSystemLoader(str(ROOT / "templates")),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["_"] = env.globals["gettext"] = template_gettext
    env.filters["date_fr"] = format_date
    env.filters["datetime_fr"] = format_datetime
    env.filters["number_fr"] = format_number
    env.globals["LANGUAGES"] = i18n.LANGUAGES
    env.globals["current_language"] = i18n.current_language.get
    env.globals["kept_fragment"] = fragments.kept_fragment
    env.globals["navigation_links"] = navigation_links
    return env
