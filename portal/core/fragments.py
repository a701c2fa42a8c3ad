"""Fragments rendered once per kept object.

Some blocks of a page come from objects a process keeps while their data is unchanged (the message boxes kept
against ``message_stamp``, the UAA indicators kept against ``uaa_stamp``): the same object, request after request,
until the data moves and a new object replaces it. Rendering such a block again each time was a third of a
dashboard's work. ``kept_fragment(template, kept, **strings)`` (a template global) renders ``template`` once per
kept object, language and string arguments, then serves that HTML.

The fragment must show nothing but ``kept`` and the string arguments (no person, no token, no permission). An
entry holds the kept object itself, so that its ``id`` cannot be given to another object while the entry exists.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, pass_environment
from markupsafe import Markup

from portal.i18n import current_language

SIZE = 4000
_rendered: dict[tuple, tuple[object, Markup]] = {}


@pass_environment
def kept_fragment(environment: Environment, template: str, kept: Any, **context: Any) -> Markup:
    """The HTML of ``template`` rendered with ``context`` (whose values are ``kept`` or strings), once per kept
    object, language and strings."""
    strings = tuple(sorted((name, str(value)) for name, value in context.items() if value is not kept))
    key = (template, id(kept), current_language.get(), strings)
    hit = _rendered.get(key)
    if hit is not None and hit[0] is kept:
        return hit[1]
    html = Markup(environment.get_template(template).render(**context))
    if len(_rendered) >= SIZE:
        _rendered.clear()
    _rendered[key] = (kept, html)
    return html


def clear() -> None:
    """Forget every rendered fragment (tests start from a fresh database)."""
    _rendered.clear()
