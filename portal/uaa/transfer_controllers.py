"""The page where a school takes in a learner coming from another establishment."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post

from portal.core.web import Form, current_user, page
from portal.uaa import transfers


class TransferController(Controller):
    """``/uaa/transfert``: accueillir un élève venant d'un autre établissement."""

    path = "/uaa/transfert"
    opt = {"permission": "uaa.import_learners"}

    @get("/")
    async def form(self, request: Request) -> Response:
        """The form: N° CF and birth date."""
        return page(request, "uaa/transfer.html", errors=[], values={}, done=None)

    @post("/")
    async def submit(self, request: Request, data: Form) -> Response:
        """Move the learner here, with attempts and attestations."""
        values = {"cf_number": (data.get("cf_number") or "")[:40], "birth_date": (data.get("birth_date") or "")[:20]}
        try:
            learner = await transfers.take_in(current_user(request), values["cf_number"], values["birth_date"])
        except transfers.TransferError as error:
            return page(request, "uaa/transfer.html", status_code=400, errors=error.messages, values=values, done=None)
        return page(request, "uaa/transfer.html", errors=[], values={}, done=learner)


ROUTES = [TransferController]
