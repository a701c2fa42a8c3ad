"""The garbage collector of a serving process, set once its start-up is over.

CPython's cyclic collector runs its oldest generation after tens of thousands of allocations, and that pass walks
every container object the process holds: the modules, classes and functions of Litestar, Jinja, Piccolo and the
portal, and the compiled templates — about 165,000 objects here, none of which will ever be garbage. A
request allocates thousands of short-lived objects, so under load that pass comes back every ten seconds or so
and stops every request of the process while it runs. Measured under the benchmark's load (2 workers, 16
connections, gc.callbacks): each worker ran that pass twice in about 25 s, 128 to 142 ms each time. :func:`settle`
compiles the templates, collects once, and moves everything alive into the permanent generation (``gc.freeze``),
which later passes skip: the same load then gave passes of the oldest generation of 4 to 6 ms. The thresholds stay
CPython's: raising the youngest one (3,000, 20,000) made fewer but longer pauses (up to 10 and 33 ms).

Only a serving process does this (``portal serve`` sets ``PORTAL_SETTLE_HEAP``, read into ``settings.settle_heap``):
tests start apps by the hundred.
"""

from __future__ import annotations

import gc


def settle(environment=None) -> None:
    """Load every template of ``environment`` (a Jinja environment), collect, and freeze what is alive."""
    if environment is not None:
        for name in environment.list_templates(extensions=["html", "txt", "xml"]):
            environment.get_template(name)
    gc.collect()
    gc.freeze()
