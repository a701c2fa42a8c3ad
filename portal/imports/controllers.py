"""``/annuaire/import``: the Administration imports the FWB establishment directory (the shared file or an upload).

The page works with plain forms (JavaScript off). An upload is a multipart form, limited in size; its content is
checked (gzip, or a UTF-8 CSV with the directory's header) before anything is read into the database, and the file
itself is never stored. The report says what was created, updated and left unchanged, and which lines were
rejected and why (then nothing at all is written).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body

from portal.core.web import current_user, page
from portal.history.services import events
from portal.imports import fwb

#: room for the multipart envelope around a file of the maximum size
REQUEST_LIMIT = fwb.MAX_UPLOAD_BYTES + 1024 * 1024
SOURCE_SHARED = "reference"
SOURCE_UPLOAD = "envoi"


@dataclass
class ImportForm:
    """The import form: which source, and the file when one is sent."""

    source: str = ""
    fichier: UploadFile | None = None


async def _context() -> dict:
    """What the page shows besides a report: the directory's size, the last import, the shared file."""
    last, _total = await events(everything=True, entity="directory_import", limit=1)
    shared = fwb.DEFAULT_PATH
    return {
        "counts": await fwb.directory_counts(),
        "last": last[0] if last else None,
        "shared_available": shared.is_file(),
        "shared_name": shared.name,
        "source_label": fwb.SOURCE_LABEL,
        "max_mb": fwb.MAX_UPLOAD_BYTES // (1024 * 1024),
        "kind_labels": fwb.KIND_LABELS,
        "max_rejections": fwb.MAX_REJECTIONS_SHOWN,
    }


class DirectoryImportController(Controller):
    """The import page and its form."""

    path = "/annuaire/import"
    opt = {"permission": "directory.import"}

    @get("/", name="directory_import")
    async def show(self, request: Request) -> Response:
        """The page: the directory's state, the two ways to import."""
        return page(request, "imports/fwb.html", report=None, refusal=None, **await _context())

    @post("/", request_max_body_size=REQUEST_LIMIT)
    async def run(
        self, request: Request, data: Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Response:
        """Run the import of the shared file or of the uploaded one, and show the report."""
        actor = current_user(request).actor
        if data.source == SOURCE_SHARED:
            if not fwb.DEFAULT_PATH.is_file():
                return await self._refuse(request, "Le fichier de référence n'est pas disponible sur ce serveur : "
                                                   "envoyez le fichier à importer.")
            report = await fwb.import_file(fwb.DEFAULT_PATH, actor=actor)
        elif data.source == SOURCE_UPLOAD:
            upload = data.fichier
            if upload is None or not upload.filename:
                return await self._refuse(request, "Choisissez le fichier à envoyer (CSV ou CSV compressé .csv.gz).")
            content = await upload.read(fwb.MAX_UPLOAD_BYTES + 1)
            await upload.close()
            if len(content) > fwb.MAX_UPLOAD_BYTES:
                return await self._refuse(request, f"Le fichier dépasse {fwb.MAX_UPLOAD_BYTES // (1024 * 1024)} Mo.",
                                          status_code=413)
            report = await fwb.import_directory(content, actor=actor, source=_safe_name(upload.filename))
        else:
            return await self._refuse(request, "Choisissez ce qu'il faut importer : le fichier de référence ou "
                                               "un fichier envoyé.")
        return page(request, "imports/fwb.html", status_code=200 if report.ok else 400, report=report,
                    refusal=None, **await _context())

    async def _refuse(self, request: Request, message: str, status_code: int = 400) -> Response:
        return page(request, "imports/fwb.html", status_code=status_code, report=None, refusal=message,
                    **await _context())


def _safe_name(filename: str) -> str:
    """The sent file's name, without any folder, short enough to show."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return (name or "fichier envoyé")[:120]


ROUTES: list = [DirectoryImportController]
