"""Messages written by the Administration, the contact form and the outbox reader (SPEC §3, §4). No Litestar.

Pure rules (form checks, mail states, paging) come first, so that ``tests/unit`` can check them without a
database; the functions below them read and write through Piccolo and record every change in the history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from piccolo.columns.combination import WhereRaw

from portal.accounts.identity import CurrentUser
from portal.core.clock import now
from portal.core.db import atomic
from portal.directory.services import find_establishment
from portal.directory.tables import Pole
from portal.history.services import record
from portal.messaging.outbox import send_mail
from portal.messaging.tables import Message, OutboxMail
from portal.permissions import Profile
from portal.settings import settings

SUBJECT_MAX = 200
BODY_MAX = 5000
CODE_MAX = 20
SEARCH_MAX = 100
PAGE_SIZE = 20
MAX_ID = 2**63 - 1

KINDS = {"applicatif": "Applicatif (à tous)", "cible": "Ciblé"}
MAIL_STATES = {"sent": "envoyé", "pending": "en attente", "error": "erreur"}


class MessagingError(Exception):
    """A refused change, with the French messages to show."""

    def __init__(self, messages: list[str] | str):
        self.messages = [messages] if isinstance(messages, str) else messages
        super().__init__("; ".join(self.messages))


# --- pure rules ---------------------------------------------------------------------------------------------


@dataclass
class MessageDraft:
    """What the message form says, cleaned; ``pole_id`` is parsed, the establishment code still to resolve."""

    kind: str = ""
    subject: str = ""
    body: str = ""
    establishment_code: str = ""
    pole_id: int | None = None
    errors: list[str] = field(default_factory=list)


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _body(value: object) -> str:
    """A multi-line text: line endings normalised, outer blank space removed."""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip() if isinstance(value, str) else ""


def check_text(subject: str, body: str, *, subject_label: str = "l'objet", body_label: str = "le texte") -> list[str]:
    """French messages for a missing or too long subject or body (empty list when both are fine)."""
    errors = []
    if not subject:
        errors.append(f"Indiquez {subject_label}.")
    elif len(subject) > SUBJECT_MAX:
        errors.append(f"{subject_label[0].upper()}{subject_label[1:]} ne peut pas dépasser {SUBJECT_MAX} caractères "
                      f"(il en compte {len(subject)}).")
    elif any(ord(c) < 32 for c in subject):
        errors.append(f"{subject_label[0].upper()}{subject_label[1:]} doit tenir sur une ligne.")
    if not body:
        errors.append(f"Indiquez {body_label}.")
    elif len(body) > BODY_MAX:
        errors.append(f"{body_label[0].upper()}{body_label[1:]} ne peut pas dépasser 5 000 caractères "
                      f"(il en compte {len(body)}).")
    return errors


def check_message_form(data: dict) -> MessageDraft:
    """Clean the fields of the message form and list what is wrong with them, in French.

    ``kind`` is ``applicatif`` (to everyone) or ``cible`` (to exactly one establishment, by its FASE or UAI
    number, or one pole, by its id). Whether that establishment or pole exists is checked against the database
    by :func:`create_message`.
    """
    draft = MessageDraft(
        kind=_text(data.get("kind")),
        subject=_text(data.get("subject")),
        body=_body(data.get("body")),
        establishment_code=_text(data.get("establishment")).upper(),
    )
    errors = draft.errors
    if draft.kind not in KINDS:
        errors.append("Choisissez le type du message : applicatif (à tous) ou ciblé.")
    pole_raw = _text(data.get("pole"))
    if pole_raw:
        if pole_raw.isdigit() and 0 < int(pole_raw) <= MAX_ID:
            draft.pole_id = int(pole_raw)
        else:
            errors.append("Choisissez un pôle de la liste.")
    if len(draft.establishment_code) > CODE_MAX:
        errors.append(f"Le numéro d'établissement ne peut pas dépasser {CODE_MAX} caractères.")
    has_target = bool(draft.establishment_code) or bool(pole_raw)
    if draft.kind == "cible":
        if not has_target:
            errors.append("Pour un message ciblé, indiquez le numéro FASE ou UAI d'un établissement, "
                          "ou choisissez un pôle.")
        elif draft.establishment_code and pole_raw:
            errors.append("Un message ciblé s'adresse à un seul destinataire : indiquez un établissement "
                          "ou un pôle, pas les deux.")
    elif draft.kind == "applicatif" and has_target:
        errors.append("Un message applicatif s'adresse à tous : laissez l'établissement et le pôle vides, "
                      "ou choisissez « ciblé ».")
    errors.extend(check_text(draft.subject, draft.body))
    return draft


def check_contact_form(data: dict) -> tuple[str, str, list[str]]:
    """Cleaned subject and message of the contact form, with what is wrong with them, in French."""
    subject, body = _text(data.get("subject")), _body(data.get("message"))
    return subject, body, check_text(subject, body, body_label="votre message")


def mail_state(sent_at: object, error: str | None) -> str:
    """``sent``, ``error`` or ``pending``: what became of an outbox mail."""
    if sent_at is not None:
        return "sent"
    if error:
        return "error"
    return "pending"


def page_count(total: int, size: int) -> int:
    """How many pages ``total`` rows fill (at least one, so that an empty list is page 1 of 1)."""
    return max(1, math.ceil(total / size)) if size > 0 else 1


def clamp_page(number: int | None) -> int:
    """A page number of at least 1."""
    return number if number and number > 0 else 1


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its own ``%``, ``_`` and ``\\`` taken literally."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contains_any(columns: tuple[str, ...], text: str) -> WhereRaw:
    """A WHERE clause: one of ``columns`` (trusted names) contains ``text``, ignoring case, on both engines."""
    pattern = like_pattern(text)
    sql = " OR ".join(f"lower({name}) LIKE {{}} ESCAPE '\\'" for name in columns)
    return WhereRaw(f"({sql})", *([pattern] * len(columns)))


# --- messages -----------------------------------------------------------------------------------------------


def _snapshot(row: dict) -> dict:
    """The fields of a message kept in the history."""
    return {
        "type": row.get("kind"),
        "objet": row.get("subject"),
        "texte": row.get("body"),
        "etablissement": row.get("establishment"),
        "pole": row.get("pole"),
    }


def _target_label(row: dict) -> str:
    """Who a message is for, in words."""
    if row.get("kind") == "applicatif":
        return "Tous les utilisateurs"
    if row.get("establishment.name"):
        if row.get("establishment.fase"):
            return f"{row['establishment.name']} (FASE {row['establishment.fase']})"
        if row.get("establishment.uai"):
            return f"{row['establishment.name']} (UAI {row['establishment.uai']})"
        return row["establishment.name"]
    if row.get("pole.name"):
        name = row["pole.name"]
        return name if name.lower().startswith("pôle") else f"Pôle {name}"
    return "—"


async def list_messages(page: int = 1, size: int = PAGE_SIZE) -> dict:
    """One page of messages, newest first, with their target and author in two queries whatever the size."""
    total = await Message.count()
    pages = page_count(total, size)
    page = min(clamp_page(page), pages)
    rows = await Message.select(
        Message.id, Message.kind, Message.subject, Message.body, Message.created_at, Message.demo,
        Message.establishment, Message.pole,
        Message.establishment.name, Message.establishment.fase, Message.establishment.uai,
        Message.pole.name, Message.author.username,
    ).order_by(Message.created_at, Message.id, ascending=False).limit(size).offset((page - 1) * size)
    for row in rows:
        row["target"] = _target_label(row)
        row["kind_label"] = KINDS.get(row["kind"], row["kind"])
    return {"rows": rows, "total": total, "page": page, "pages": pages}


async def get_message(message_id: int) -> dict | None:
    """One message with its target, or None."""
    if not 0 < message_id <= MAX_ID:
        return None
    rows = await Message.select(
        Message.id, Message.kind, Message.subject, Message.body, Message.created_at, Message.demo,
        Message.establishment, Message.pole,
        Message.establishment.name, Message.establishment.fase, Message.establishment.uai, Message.pole.name,
    ).where(Message.id == message_id)
    if not rows:
        return None
    row = rows[0]
    row["target"] = _target_label(row)
    row["kind_label"] = KINDS.get(row["kind"], row["kind"])
    return row


async def create_message(user: CurrentUser, data: dict) -> int:
    """Check the form, resolve its target, store the message and record it. Raises :class:`MessagingError`."""
    draft = check_message_form(data)
    establishment_id = None
    if not draft.errors and draft.kind == "cible":
        if draft.establishment_code:
            found = await find_establishment(draft.establishment_code)
            if found is None:
                draft.errors.append(f"Aucun établissement ne porte le numéro FASE ou UAI « {draft.establishment_code} ».")
            else:
                establishment_id = found["id"]
        elif draft.pole_id is not None and not await Pole.exists().where(Pole.id == draft.pole_id):
            draft.errors.append("Le pôle choisi n'existe pas (ou plus) : choisissez un pôle de la liste.")
    if draft.errors:
        raise MessagingError(draft.errors)
    pole_id = draft.pole_id if draft.kind == "cible" and establishment_id is None else None
    row = {"kind": draft.kind, "subject": draft.subject, "body": draft.body,
           "establishment": establishment_id, "pole": pole_id}
    async with atomic():
        inserted = await Message.insert(Message(author=user.account_id, created_at=now(), **row)).returning(Message.id)
        message_id = inserted[0]["id"]
        await record(user.actor, "message", message_id, "publication", after=_snapshot(row),
                     summary=f"Message publié : {draft.subject}",
                     establishment_id=establishment_id, pole_id=pole_id)
    return message_id


async def delete_message(user: CurrentUser, message_id: int) -> bool:
    """Delete a message and record what it was. False when there is no such message."""
    if not 0 < message_id <= MAX_ID:
        return False
    async with atomic():
        rows = await Message.select(Message.id, Message.kind, Message.subject, Message.body, Message.establishment,
                                    Message.pole).where(Message.id == message_id)
        if not rows:
            return False
        row = rows[0]
        await Message.delete().where(Message.id == message_id)
        await record(user.actor, "message", message_id, "suppression", before=_snapshot(row),
                     summary=f"Message supprimé : {row['subject']}",
                     establishment_id=row["establishment"], pole_id=row["pole"])
    return True


# --- contact form -------------------------------------------------------------------------------------------


def contact_body(user: CurrentUser, message: str) -> str:
    """The mail the support receives: who writes, for which profile and scope, then the message."""
    scope = user.active.label if user.active else "aucun profil choisi"
    return (
        "Message envoyé depuis le formulaire de contact du portail.\n\n"
        f"Nom : {user.full_name}\n"
        f"Identifiant : {user.username}\n"
        f"Adresse e-mail : {user.email or 'aucune'}\n"
        f"Profil : {scope}\n\n"
        "Message :\n"
        f"{message}\n"
    )


async def send_contact(user: CurrentUser, data: dict) -> int:
    """Send the contact form to the support address and record it. Returns the outbox id.

    Raises :class:`MessagingError` with French messages when the form is incomplete or too long.
    """
    subject, body, errors = check_contact_form(data)
    if errors:
        raise MessagingError(errors)
    establishment_id = user.active.establishment_id if user.active else None
    mail_id = await send_mail(settings.contact_address, f"[Contact] {subject}", contact_body(user, body),
                              establishment_id=establishment_id)
    await record(user.actor, "contact", mail_id, "message au support",
                 after={"destinataire": settings.contact_address, "objet": subject},
                 summary=f"Formulaire de contact : {subject}")
    return mail_id


# --- outbox -------------------------------------------------------------------------------------------------


def outbox_scope(user: CurrentUser) -> int | None | bool:
    """Whose mails the person may read: True for all, an establishment id, or False for none."""
    active = user.active
    if active is None:
        return False
    if active.profile == Profile.ADMINISTRATION:
        return True
    if active.profile == Profile.SCHOOL_ADMIN and active.establishment_id:
        return active.establishment_id
    return False


async def list_outbox(user: CurrentUser, text: str = "", page: int = 1, size: int = PAGE_SIZE) -> dict:
    """One page of the mails the person may read, newest first, filtered on recipient and subject."""
    scope = outbox_scope(user)
    if scope is False:
        return {"rows": [], "total": 0, "page": 1, "pages": 1}
    conditions = []
    if scope is not True:
        conditions.append(OutboxMail.establishment == scope)
    if text:
        conditions.append(contains_any(("recipient", "subject"), text))
    query = OutboxMail.select(OutboxMail.id, OutboxMail.created_at, OutboxMail.recipient, OutboxMail.subject,
                              OutboxMail.sent_at, OutboxMail.error)
    count = OutboxMail.count()
    for condition in conditions:
        query = query.where(condition)
        count = count.where(condition)
    total = await count
    pages = page_count(total, size)
    page = min(clamp_page(page), pages)
    rows = await query.order_by(OutboxMail.created_at, OutboxMail.id, ascending=False).limit(size).offset(
        (page - 1) * size)
    for row in rows:
        row["state"] = mail_state(row["sent_at"], row["error"])
        row["state_label"] = MAIL_STATES[row["state"]]
    return {"rows": rows, "total": total, "page": page, "pages": pages}


async def get_mail(user: CurrentUser, mail_id: int) -> dict | None:
    """One mail with its whole body, or None when it does not exist or is outside the person's scope."""
    scope = outbox_scope(user)
    if scope is False or not 0 < mail_id <= MAX_ID:
        return None
    query = OutboxMail.select(OutboxMail.all_columns(), OutboxMail.establishment.name).where(OutboxMail.id == mail_id)
    if scope is not True:
        query = query.where(OutboxMail.establishment == scope)
    rows = await query
    if not rows:
        return None
    row = rows[0]
    row["state"] = mail_state(row["sent_at"], row["error"])
    row["state_label"] = MAIL_STATES[row["state"]]
    return row
