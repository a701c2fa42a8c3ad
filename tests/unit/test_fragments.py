"""Fragments rendered once per kept object (portal.core.fragments)."""

from __future__ import annotations

from jinja2 import DictLoader, Environment

from portal.core import fragments
from portal.i18n import current_language


def _environment(renders: list) -> Environment:
    env = Environment(loader=DictLoader({"box.html": "{{ count() }}:{% for m in items %}{{ m }},{% endfor %}{{ empty }}"}),
                      autoescape=True)
    env.globals["count"] = lambda: renders.append(1) or len(renders)
    env.globals["kept_fragment"] = fragments.kept_fragment
    return env


def _render(env: Environment, items: list, empty: str = "vide") -> str:
    return env.from_string('{{ kept_fragment("box.html", items, items=items, empty=empty) }}').render(
        items=items, empty=empty)


def test_a_kept_object_is_rendered_once_then_served():
    fragments.clear()
    renders: list = []
    env = _environment(renders)
    kept = ["a", "<b>"]
    first = _render(env, kept)
    assert first == "1:a,&lt;b&gt;,vide"  # escaped as any template
    assert _render(env, kept) == first and len(renders) == 1


def test_another_object_language_or_string_renders_again():
    fragments.clear()
    renders: list = []
    env = _environment(renders)
    kept = ["a"]
    _render(env, kept)
    assert _render(env, ["a"]) == "2:a,vide"  # an equal but new object: the data may have changed
    assert _render(env, kept, empty="rien") == "3:a,rien"
    token = current_language.set("en")
    try:
        assert _render(env, kept) == "4:a,vide"
    finally:
        current_language.reset(token)
    assert _render(env, kept) == "1:a,vide"  # the first rendering, still kept


def test_the_cache_is_bounded(monkeypatch):
    fragments.clear()
    monkeypatch.setattr(fragments, "SIZE", 3)
    env = _environment([])
    kept = [[i] for i in range(5)]
    for items in kept:
        _render(env, items)
    assert len(fragments._rendered) <= 3
