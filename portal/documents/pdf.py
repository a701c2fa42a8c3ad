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
"""

from __future__ import annotations

import asyncio
import functools
import io
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import segno
from jinja2 import Environment
from pypdf import PdfReader, PdfWriter
from weasyprint import CSS, HTML, Document

from portal.core.clock import as_aware
from portal.core.templating import build_environment
from portal.settings import ROOT

PDF_VARIANT = "pdf/a-3b"
TEMPLATES = ROOT / "templates"

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf-render")
T = TypeVar("T")


async def run(function: Callable[..., T], *args: Any) -> T:
    """Run a rendering function in the PDF worker thread and wait for it without blocking the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor, functools.partial(function, *args))


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
