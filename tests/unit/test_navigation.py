"""The main navigation's links (portal.core.templating.navigation_links): what the permission table gives each
profile, rendered once per profile and language."""

from __future__ import annotations

import re

import pytest

from portal.core.templating import build_environment
from portal.i18n import current_language
from portal.permissions import Profile, allowed

# each link of templates/partials/nav_items.html and the action that shows it
LINKS = {"/uaa/recherche": "uaa.search", "/uaa/mes-resultats": "uaa.own_results", "/uaa/import": "uaa.import_learners",
         "/utilisateurs": "users.manage", "/historique": "history.read", "/conventions": "conventions.read",
         "/competences/evaluations": "competencies.evaluate", "/courriels": "outbox.read"}


def _hrefs(html: str) -> set[str]:
    return set(re.findall(r'href="([^"]+)"', html))


@pytest.mark.parametrize("profile", list(Profile))
def test_each_profile_gets_the_links_its_permissions_give(profile):
    env = build_environment()
    hrefs = _hrefs(env.from_string("{{ navigation_links(p) }}").render(p=profile))
    for href, action in LINKS.items():
        assert (href in hrefs) == allowed(profile, action), (profile, href)


def test_rendered_once_per_profile_and_language():
    env = build_environment()
    template = env.from_string("{{ navigation_links(p) }}")
    calls: list[str] = []
    nav = env.get_template("partials/nav_items.html")
    original = nav.render
    nav.render = lambda *a, **k: calls.append("x") or original(*a, **k)  # the environment caches this template
    from portal.core import templating
    templating._navigation.clear()
    first = template.render(p=Profile.TEACHER)
    assert template.render(p=Profile.TEACHER) == first and len(calls) == 1
    template.render(p=Profile.LEARNER)
    token = current_language.set("en")
    try:
        template.render(p=Profile.TEACHER)
    finally:
        current_language.reset(token)
    assert len(calls) == 3
    assert template.render(p=None) == ""  # no profile chosen: no link
