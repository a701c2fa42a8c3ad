"""The serving process's garbage collector (portal.core.heap)."""

from __future__ import annotations

import gc

from portal.core import heap
from portal.core.templating import build_environment
from portal.settings import load


def test_settle_compiles_the_templates_and_freezes_what_is_alive():
    environment = build_environment()
    try:
        heap.settle(environment)
        assert gc.get_freeze_count() > 10_000  # the modules, classes and templates of the process
        templates = environment.list_templates(extensions=["html", "txt", "xml"])
        assert len(environment.cache) >= min(len(templates), environment.cache.capacity)  # every one compiled
    finally:
        gc.unfreeze()


def test_only_a_serving_process_settles(monkeypatch):
    monkeypatch.delenv("PORTAL_SETTLE_HEAP", raising=False)
    assert not load().settle_heap
    monkeypatch.setenv("PORTAL_SETTLE_HEAP", "1")
    assert load().settle_heap
