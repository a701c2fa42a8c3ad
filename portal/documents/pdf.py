"""PDF rendering with WeasyPrint (SPEC §9): Jinja templates → PDF/A-3b, deterministic, off the event loop.

- Templates live under ``templates/documents/`` and are rendered with the portal's one Jinja environment
  (:func:`portal.core.templating.build_environment`); their stylesheets are parsed once and reused.
- Output is PDF/A-3b (``pdf_variant="pdf/a-3b"``: sRGB output intent, XMP metadata, every font embedded as a
  subset; the text uses the DejaVu fonts installed with the system).
- Rendering is deterministic: the creation and modification dates written in the metadata are the ones given by
  the caller (the issue date of the document), the PDF identifier is a hash of the content, and nothing random is
  written. The same data therefore gives the same bytes.
- :class:`Merger` puts the pages of stored PDFs together (pypdf), for print-outs of documents already issued.
- WeasyPrint is CPU-bound and not documented as thread-safe: every rendering runs in ONE dedicated worker thread
  per process (:func:`run`), so the event loop keeps serving requests while a PDF is made and two renderings
  never share WeasyPrint's state.
- Many documents at once (a batch of attestations) are rendered by :func:`run_parallel` in a pool of worker
  processes, one per core (``PORTAL_PDF_PROCESSES``; 0 renders them one by one in the thread). The pool is made
  when first needed, from a fork server that has already imported WeasyPrint and the portal (a worker starts in
  milliseconds, not the second an import takes); :func:`warm_up` lets a page start it before the user asks for a
  batch, and :func:`close_pool` stops it with the app.
"""

from __future__ import annotations

import asyncio
import functools
import io
import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import segno
from jinja2 import Environment
from pypdf import PdfReader, PdfWriter
from weasyprint import CSS, HTML, Document

from portal.core.clock import as_aware
from portal.core.templating import build_environment
from portal.settings import ROOT, settings

PDF_VARIANT = "pdf/a-3b"
TEMPLATES = ROOT / "templates"

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf-render")
T = TypeVar("T")


async def run(function: Callable[..., T], *args: Any) -> T:
    """Run a rendering function in the PDF worker thread and wait for it without blocking the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor, functools.partial(function, *args))


_processes: ProcessPoolExecutor | None = None
# imported once by the fork server, before it forks the workers (the modules whose functions the pool runs)
POOL_PRELOAD = ["portal.documents.pdf", "portal.uaa.attestations"]


def pool_size() -> int:
    """How many rendering processes :func:`run_parallel` uses (0: none, render in the thread)."""
    if settings.pdf_processes is not None:
        return settings.pdf_processes
    return max(1, min(4, os.cpu_count() or 1))


def _process_pool() -> ProcessPoolExecutor:
    global _processes
    if _processes is None:
        # forkserver, not fork: this process runs threads (the database's, the renderer's), and forking them is
        # unsafe; a fork server started now is a clean single-threaded process that has imported WeasyPrint.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(POOL_PRELOAD)
        _processes = ProcessPoolExecutor(max_workers=pool_size(), mp_context=context)
    return _processes


def _ready() -> bool:
    """Run in a new rendering process: lay out a line of text, so that fonts and caches are loaded before the
    first real document (the first rendering of a process costs twice a warm one)."""
    layout('<p style="font-family: \'DejaVu Sans\'">Portail</p>').write_pdf()
    return True


_warming: asyncio.Task | None = None


async def warm_up() -> None:
    """Start the rendering processes now (all of them), so that the next :func:`run_parallel` finds them ready."""
    if pool_size() < 1:
        return
    loop = asyncio.get_running_loop()
    pool = _process_pool()
    await asyncio.gather(*(loop.run_in_executor(pool, _ready) for _ in range(pool_size())))


def prepare_pool() -> None:
    """Start the rendering processes in the background, unless they run already (a page that leads to a batch
    calls it: the processes are ready by the time the user submits)."""
    global _warming
    if pool_size() > 0 and _processes is None and (_warming is None or _warming.done()):
        _warming = asyncio.get_running_loop().create_task(warm_up())


async def run_parallel(function: Callable[[Any], T], items: Sequence[Any]) -> list[T]:
    """``[function(item) for item in items]``, computed in the rendering processes, in order.

    ``function`` must be a module-level function (the workers import it by name) and the items picklable. With no
    pool (``PORTAL_PDF_PROCESSES=0``) or a single item, the work is done in the thread of :func:`run`."""
    if pool_size() < 1 or len(items) < 2:
        return [await run(function, item) for item in items]
    loop = asyncio.get_running_loop()
    pool = _process_pool()
    return list(await asyncio.gather(*(loop.run_in_executor(pool, function, item) for item in items)))


async def close_pool() -> None:
    """Stop the rendering processes (when the app stops)."""
    global _processes, _warming
    if _warming is not None:
        _warming.cancel()
        _warming = None
    if _processes is not None:
        pool, _processes = _processes, None
        await asyncio.get_running_loop().run_in_executor(None, functools.partial(pool.shutdown, wait=True,
                                                                                 cancel_futures=True))


@functools.cache
def environment() -> Environment:
    """The Jinja environment of document templates (the portal's own, built once)."""
    return build_environment()


@functools.cache
def stylesheet(name: str) -> CSS:
    """A stylesheet of ``templates/``, parsed once (``name`` relative to ``templates/``)."""
    return CSS(filename=str(TEMPLATES / name))


def render_html(template: str, **context: Any) -> str:
    """The HTML of a document template."""
    return environment().get_template(template).render(**context)


def w3c_datetime(value: datetime) -> str:
    """A date for the PDF metadata, in W3C format and UTC (``2026-03-04T10:15:00Z``)."""
    return as_aware(value).astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def layout(html: str, stylesheets: Iterable[str] = ()) -> Document:
    """Lay out HTML into pages (a WeasyPrint document), with the named stylesheets of ``templates/``."""
    return HTML(string=html, base_url=str(TEMPLATES)).render(
        stylesheets=[stylesheet(name) for name in stylesheets], pdf_variant=PDF_VARIANT,
    )


def write(document: Document, *, created: datetime, title: str | None = None) -> bytes:
    """The PDF/A bytes of a laid-out document, its metadata dated ``created`` (creation and modification)."""
    stamp = w3c_datetime(created)
    document.metadata.created = stamp
    document.metadata.modified = stamp
    if title:
        document.metadata.title = title
    return document.write_pdf(pdf_variant=PDF_VARIANT)


def render_pdf(template: str, context: dict, *, created: datetime, stylesheets: Iterable[str] = (),
               title: str | None = None) -> bytes:
    """Template → PDF/A bytes in one call (synchronous: call it through :func:`run`)."""
    return write(layout(render_html(template, **context), stylesheets), created=created, title=title)


def qr_data_uri(text: str) -> str:
    """A QR code of ``text`` as a PNG data URI, one pixel per module (error correction M, no quiet zone: the
    layout leaves room around it). Show it with ``image-rendering: pixelated``: sharp at any size, and PDF/A
    wants images that are not interpolated. (A PNG draws far faster than the equivalent SVG path.)"""
    return segno.make(text, error="m", micro=False).png_data_uri(scale=1, border=0)


class Merger:
    """The pages of several PDFs put together in order (pypdf), for a print-out of stored documents.

    The result is a plain PDF for printing (not itself archival): each page keeps its own fonts and content. Use it
    from one thread at a time (through :func:`run`)."""

    def __init__(self) -> None:
        self._writer = PdfWriter()
        self.pages = 0

    def add(self, contents: Iterable[bytes]) -> None:
        """Append every page of each PDF of ``contents``."""
        for content in contents:
            reader = PdfReader(io.BytesIO(content))
            self._writer.append(reader)
            self.pages += len(reader.pages)

    def write(self, title: str, author: str) -> bytes:
        """The merged PDF."""
        self._writer.add_metadata({"/Title": title, "/Author": author, "/Producer": "Portail (pypdf)"})
        output = io.BytesIO()
        self._writer.write(output)
        return output.getvalue()
