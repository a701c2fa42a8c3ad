"""Mail goes to the outbox always, and through SMTP when a server is configured."""

from __future__ import annotations

import dataclasses
import socket

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink

from portal.messaging import outbox
from portal.messaging.tables import OutboxMail

pytestmark = pytest.mark.anyio


class Recorder(Sink):
    """An SMTP handler that keeps what it receives."""

    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_without_smtp_mail_stays_in_the_outbox(demo):
    mail_id = await outbox.send_mail("a@ecole.be", "Objet", "Corps")
    row = await OutboxMail.objects().get(OutboxMail.id == mail_id)
    assert row.sent_at is None and row.error == "" and row.body == "Corps"


async def test_with_smtp_mail_is_delivered_and_marked_sent(demo, monkeypatch):
    recorder = Recorder()
    port = _free_port()
    server = Controller(recorder, hostname="127.0.0.1", port=port)
    server.start()
    try:
        monkeypatch.setattr(outbox, "settings", dataclasses.replace(outbox.settings, smtp_host="127.0.0.1", smtp_port=port))
        mail_id = await outbox.send_mail("prof@ecole.be", "Activation", "Votre lien d'activation")
    finally:
        server.stop()
    row = await OutboxMail.objects().get(OutboxMail.id == mail_id)
    assert row.sent_at is not None and row.error == ""
    assert recorder.received[0][0] == ["prof@ecole.be"]
    assert "Activation" in recorder.received[0][1]


async def test_unreachable_smtp_keeps_the_mail_with_its_error(demo, monkeypatch):
    monkeypatch.setattr(outbox, "settings", dataclasses.replace(outbox.settings, smtp_host="127.0.0.1",
                                                                smtp_port=_free_port()))
    mail_id = await outbox.send_mail("prof@ecole.be", "Objet", "Corps")
    row = await OutboxMail.objects().get(OutboxMail.id == mail_id)
    assert row.sent_at is None and row.error
