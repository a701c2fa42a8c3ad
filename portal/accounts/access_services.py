"""Access requests (annexes 1–3 of the circular), their approval or refusal, and revocation (annex 5).

No Litestar here. The scope rule — who may decide on a request or revoke an affiliation — is the pure function
:func:`may_decide`; :func:`scope_condition` is the same rule as a database condition, used to list what a person
may decide on. Every decision is checked again with :func:`may_decide` on the row itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from portal.accounts import rules
from portal.accounts.identity import AffiliationView, CurrentUser
from portal.accounts.services import EMAIL_RE, allocate_username, issue_activation
from portal.accounts.tables import AccessRequest, Account, Affiliation
from portal.core.clock import day_text, local, now
from portal.core.db import atomic
from portal.directory.services import (
    establishment_label,
    find_establishment,
    find_organising_body,
    normalise_code,
)
from portal.directory.tables import Pole
from portal.history.services import SYSTEM, record
from portal.messaging.outbox import send_mail
from portal.permissions import Profile

#: Profiles tied to one establishment (teacher, learner, DDFTP, school admin, direction).
ESTABLISHMENT_PROFILES = frozenset(p for p in Profile if p.scope == "establishment")

STATUS_LABELS = {"pending": "En attente", "approved": "Acceptée", "refused": "Refusée"}
#: Values of the status filter in the address bar (French) → stored status.
STATUS_FILTERS = {"en-attente": "pending", "acceptees": "approved", "refusees": "refused"}

#: Maximum lengths of the request form (anti-abuse: nothing longer is ever stored).
MAX_LENGTHS = {
    "last_name": 100, "first_name": 100, "email": 255, "function": 120, "profile": 30,
    "establishment_code": 20, "pole": 12, "po_fase": 20, "motivation": 2000,
}
FIELD_LABELS = {
    "last_name": "Nom", "first_name": "Prénom", "email": "Adresse e-mail", "function": "Fonction",
    "profile": "Profil demandé", "establishment_code": "Établissement (numéro FASE ou UAI)", "pole": "Pôle",
    "po_fase": "Pouvoir organisateur (numéro FASE)", "motivation": "Motivation",
}
REASON_MAX = 1000
#: At most this many pending requests for one e-mail address.
MAX_PENDING_PER_EMAIL = 5
DECIDED_SHOWN = 100
AFFILIATIONS_PER_PAGE = 50


class AccessError(Exception):
    """A refused step, with its HTTP status and French messages (``field`` → message for form errors)."""

    def __init__(self, status: int, message: str = "", errors: dict[str, str] | None = None):
        self.status = status
        self.errors = errors or {}
        self.message = message or "; ".join(self.errors.values())
        super().__init__(self.message)


# --- the scope rule (pure) ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What a request asks for, or what an affiliation gives: a profile and its scope.

    ``establishment_po_id`` is the organising body the establishment belongs to (today), ``organising_body_id``
    the PO of a PO-scoped profile (délégué PO).
    """

    profile: Profile
    establishment_id: int | None = None
    establishment_po_id: int | None = None
    pole_id: int | None = None
    organising_body_id: int | None = None


def grantable_at_establishment(decider: Profile) -> frozenset[Profile]:
    """The establishment profiles a direction or school admin may grant or revoke at its own establishment."""
    if decider == Profile.DIRECTION:
        return ESTABLISHMENT_PROFILES
    if decider == Profile.SCHOOL_ADMIN:
        return ESTABLISHMENT_PROFILES - {Profile.DIRECTION}
    return frozenset()


def may_decide(decider: AffiliationView | None, target: Target) -> bool:
    """True when the affiliation ``decider`` acts for may approve, refuse or revoke ``target``.

    - the Administration decides everything;
    - coordinator (pole) and Administration profiles are decided by the Administration only;
    - a direction or school admin decides establishment profiles at the establishment it acts for, except that a
      school admin may not grant (or revoke) "direction";
    - a délégué PO decides establishment profiles of the establishments of its PO, and délégué PO profiles of
      its own PO.
    """
    if decider is None:
        return False
    if decider.profile == Profile.ADMINISTRATION:
        return True
    if target.profile in ESTABLISHMENT_PROFILES:
        if decider.profile in (Profile.DIRECTION, Profile.SCHOOL_ADMIN):
            return (decider.establishment_id is not None and target.establishment_id == decider.establishment_id
                    and target.profile in grantable_at_establishment(decider.profile))
        if decider.profile == Profile.DELEGUE_PO:
            return (decider.organising_body_id is not None and target.establishment_id is not None
                    and target.establishment_po_id == decider.organising_body_id)
        return False
    if target.profile == Profile.DELEGUE_PO and decider.profile == Profile.DELEGUE_PO:
        return decider.organising_body_id is not None and target.organising_body_id == decider.organising_body_id
    return False


def scope_condition(table, decider: AffiliationView | None):
    """:func:`may_decide` as a Piccolo condition on ``AccessRequest`` or ``Affiliation``.

    Returns ``False`` (nothing), ``True`` (everything) or a condition to put in ``where``.
    """
    if decider is None:
        return False
    if decider.profile == Profile.ADMINISTRATION:
        return True
    if decider.profile in (Profile.DIRECTION, Profile.SCHOOL_ADMIN) and decider.establishment_id:
        profiles = sorted(p.value for p in grantable_at_establishment(decider.profile))
        return (table.establishment == decider.establishment_id) & table.profile.is_in(profiles)
    if decider.profile == Profile.DELEGUE_PO and decider.organising_body_id:
        po = decider.organising_body_id
        establishment_values = sorted(p.value for p in ESTABLISHMENT_PROFILES)
        return ((table.establishment.organising_body == po) & table.profile.is_in(establishment_values)) | (
            (table.profile == Profile.DELEGUE_PO.value) & (table.organising_body == po))
    return False


def deciders_of(profile: Profile) -> str:
    """Who will examine a request for ``profile``, in words (shown on the form and the confirmation)."""
    if profile == Profile.DIRECTION:
        return "la direction de l'établissement, le délégué de son pouvoir organisateur ou l'Administration"
    if profile in ESTABLISHMENT_PROFILES:
        return ("la direction ou l'administrateur de l'établissement, le délégué de son pouvoir organisateur "
                "ou l'Administration")
    if profile == Profile.DELEGUE_PO:
        return "un délégué de ce pouvoir organisateur ou l'Administration"
    return "l'Administration"


# --- labels -----------------------------------------------------------------------------------------------------


def _scope_label(row: dict) -> str:
    if row.get("establishment"):
        return establishment_label(row.get("establishment.name"), row.get("establishment.fase"),
                                   row.get("establishment.uai"))
    if row.get("pole"):
        return f"Pôle {row.get('pole.name') or ''}"
    if row.get("organising_body"):
        fase = row.get("organising_body.fase")
        return f"PO {row.get('organising_body.name') or ''}" + (f" (FASE {fase})" if fase else "")
    return "Fédération Wallonie-Bruxelles"


def _target(row: dict) -> Target:
    return Target(profile=Profile(row["profile"]), establishment_id=row.get("establishment"),
                  establishment_po_id=row.get("establishment.organising_body"), pole_id=row.get("pole"),
                  organising_body_id=row.get("organising_body"))


def _person(first: str | None, last: str | None) -> str:
    return f"{first or ''} {last or ''}".strip()


# --- the request form ---------------------------------------------------------------------------------------------


@dataclass
class RequestForm:
    """What the form shows: the values typed, the French errors by field, the lists to choose from."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    establishment: dict | None = None
    organising_body: dict | None = None
    pole: dict | None = None

    @property
    def ordered_errors(self) -> list[str]:
        """The messages in the order of the form's fields."""
        order = list(MAX_LENGTHS)
        return [self.errors[k] for k in sorted(self.errors, key=lambda k: order.index(k) if k in order else 99)]


def profile_choices() -> list[tuple[str, str, str]]:
    """(code, label, scope) of every profile one may ask for."""
    return [(p.value, p.label, p.scope) for p in Profile]


def empty_values(user: CurrentUser | None) -> dict[str, str]:
    """The form's starting values: the signed-in person's identity, else nothing."""
    values = {name: "" for name in MAX_LENGTHS}
    if user is not None:
        values.update(first_name=user.first_name, last_name=user.last_name, email=user.email or "")
    return values


def links_to_account(values: dict[str, str], user: CurrentUser | None) -> bool:
    """True when a signed-in person asks for themselves (their e-mail, or their name when they have none).

    A direction filling the form for a colleague (as the annexes allow) files a request that is not linked to
    the direction's own account: approving it must never grant the profile to the wrong person.
    """
    if user is None:
        return False
    if user.email:
        return values.get("email", "").lower() == user.email.strip().lower()
    return (values.get("first_name", "").lower(), values.get("last_name", "").lower()) == (
        user.first_name.lower(), user.last_name.lower())


async def check_request(data: dict[str, str], user: CurrentUser | None) -> RequestForm:
    """Read and validate the request form. ``errors`` is empty when the request may be stored."""
    values = empty_values(None)
    errors: dict[str, str] = {}
    for name, limit in MAX_LENGTHS.items():
        raw = data.get(name)
        value = raw if isinstance(raw, str) else ""
        value = value.replace("\r\n", "\n").strip()
        if name != "motivation":
            value = " ".join(value.split())
        if len(value) > limit:
            errors[name] = f"{FIELD_LABELS[name]} : {limit} caractères au maximum."
            value = value[:limit]
        values[name] = value
    values["email"] = values["email"].lower()
    form = RequestForm(values=values, errors=errors)

    required = {
        "last_name": "indiquez le nom de la personne qui demande l'accès.",
        "first_name": "indiquez son prénom.",
        "email": "indiquez une adresse e-mail de contact.",
        "function": "indiquez sa fonction (exemple : enseignante, éducateur, directrice).",
        "motivation": "expliquez en quelques mots pourquoi cet accès est nécessaire.",
    }
    for name, message in required.items():
        if name not in errors and not values[name]:
            errors[name] = f"{FIELD_LABELS[name]} : {message}"
    if "email" not in errors and not EMAIL_RE.match(values["email"]):
        errors["email"] = "Adresse e-mail : l'adresse n'a pas une forme valide (exemple : prenom.nom@ecole.be)."
    if "last_name" not in errors and "first_name" not in errors:
        try:
            rules.base_username(values["first_name"], values["last_name"])
        except ValueError:
            errors["last_name"] = "Nom : écrivez le nom et le prénom en lettres latines (ils forment l'identifiant)."

    profile: Profile | None = None
    if values["profile"] in {p.value for p in Profile}:
        profile = Profile(values["profile"])
    elif "profile" not in errors:
        errors["profile"] = "Profil demandé : choisissez l'un des profils de la liste."

    if profile is not None:
        if profile.scope == "establishment" and "establishment_code" not in errors:
            code = normalise_code(values["establishment_code"])
            if not code:
                errors["establishment_code"] = (
                    f"{FIELD_LABELS['establishment_code']} : indiquez le numéro de l'établissement "
                    f"pour le profil {profile.label}.")
            else:
                form.establishment = await find_establishment(code)
                if form.establishment is None:
                    errors["establishment_code"] = (
                        f"{FIELD_LABELS['establishment_code']} : aucun établissement ne porte le numéro « {code} » "
                        "(un numéro FASE compte des chiffres ; un numéro UAI, 7 chiffres et une lettre).")
        elif profile.scope == "pole" and "pole" not in errors:
            pole_id = int(values["pole"]) if values["pole"].isdigit() else None
            poles = await Pole.select(Pole.id, Pole.name).where(Pole.id == pole_id) if pole_id is not None else []
            form.pole = poles[0] if poles else None
            if form.pole is None:
                errors["pole"] = f"Pôle : choisissez le pôle pour le profil {profile.label}."
        elif profile.scope == "organising_body" and "po_fase" not in errors:
            fase = normalise_code(values["po_fase"])
            if not fase:
                errors["po_fase"] = (f"{FIELD_LABELS['po_fase']} : indiquez le numéro FASE du pouvoir organisateur "
                                     f"pour le profil {profile.label}.")
            else:
                form.organising_body = await find_organising_body(fase)
                if form.organising_body is None:
                    errors["po_fase"] = (f"{FIELD_LABELS['po_fase']} : aucun pouvoir organisateur ne porte le numéro "
                                         f"FASE « {fase} ».")

    if not errors and profile is not None:
        scope = _request_scope(profile, form)
        same_person = AccessRequest.email == values["email"]
        if not links_to_account(values, user):
            user = None
        if user is not None:
            same_person = same_person | (AccessRequest.account == user.account_id)
        duplicate = AccessRequest.exists().where(
            same_person & (AccessRequest.status == "pending") & (AccessRequest.profile == profile.value))
        if profile.scope in scope:  # the column that names the scope of this profile
            duplicate = duplicate.where(getattr(AccessRequest, profile.scope) == scope[profile.scope])
        if await duplicate:
            errors["profile"] = (f"Profil demandé : une demande du profil {profile.label} pour ce périmètre est déjà "
                                 "en attente pour cette personne ; elle sera traitée prochainement.")
        elif await AccessRequest.count().where((AccessRequest.email == values["email"])
                                               & (AccessRequest.status == "pending")) >= MAX_PENDING_PER_EMAIL:
            errors["email"] = (f"Adresse e-mail : {MAX_PENDING_PER_EMAIL} demandes sont déjà en attente pour cette "
                               "adresse ; attendez qu'elles soient traitées.")
        elif user is not None and await _holds(user.account_id, profile, scope):
            errors["profile"] = f"Profil demandé : vous disposez déjà du profil {profile.label} pour ce périmètre."
    return form


def _request_scope(profile: Profile, form: RequestForm) -> dict[str, int | None]:
    """The columns a request (and the affiliation it grants) is tied to, for its profile."""
    scope: dict[str, int | None] = {"establishment": None, "pole": None, "organising_body": None}
    if profile.scope == "establishment" and form.establishment:
        scope["establishment"] = form.establishment["id"]
    elif profile.scope == "pole" and form.pole:
        scope["pole"] = form.pole["id"]
    elif profile.scope == "organising_body" and form.organising_body:
        scope["organising_body"] = form.organising_body["id"]
    return scope


def _affiliation_match(account_id: int, profile: Profile, scope: dict[str, int | None]):
    condition = (Affiliation.account == account_id) & (Affiliation.profile == profile.value) & (
        Affiliation.revoked_at.is_null())
    if profile.scope != "none":  # the column that names the scope of this profile
        condition = condition & (getattr(Affiliation, profile.scope) == scope[profile.scope])
    return condition


async def _holds(account_id: int, profile: Profile, scope: dict[str, int | None]) -> bool:
    return await Affiliation.exists().where(_affiliation_match(account_id, profile, scope))


async def submit_request(data: dict[str, str], user: CurrentUser | None) -> tuple[RequestForm, dict]:
    """Validate and store a pending request (linked to the signed-in account), with its history event.

    Raises :class:`AccessError` (400, with the form's errors) and stores nothing when a field is wrong. The
    request is linked to the signed-in account only when the person asks for themselves (:func:`links_to_account`).
    Returns the form (with the establishment or PO found) and a summary of the stored request.
    """
    actor = user.actor if user is not None else SYSTEM
    async with atomic():  # the duplicate checks and the insert see the same state
        form = await check_request(data, user)
        if form.errors:
            error = AccessError(400, errors=form.errors)
            error.form = form  # type: ignore[attr-defined]
            raise error
        values = form.values
        profile = Profile(values["profile"])
        scope = _request_scope(profile, form)
        if profile.scope == "establishment" and form.establishment:
            # As in annexes 1–3 the request names the PO of the school too (the dashboards count by it).
            scope["organising_body"] = form.establishment["organising_body"]
        rows = await AccessRequest.insert(AccessRequest(
            account=user.account_id if links_to_account(values, user) else None,
            first_name=values["first_name"], last_name=values["last_name"], email=values["email"],
            function=values["function"], profile=profile.value, motivation=values["motivation"],
            created_at=now(), **scope,
        )).returning(AccessRequest.id)
        request_id = rows[0]["id"]
        scope_text = _form_scope_label(profile, form)
        await record(actor, "access_request", request_id, "demande",
                     after={"nom": _person(values["first_name"], values["last_name"]), "email": values["email"],
                            "profil": profile.value, "périmètre": scope_text},
                     summary=f"Demande d'accès : {profile.label} — {scope_text} pour "
                             f"{_person(values['first_name'], values['last_name'])}",
                     establishment_id=scope["establishment"], pole_id=scope["pole"])
    return form, {"id": request_id, "name": _person(values["first_name"], values["last_name"]),
                  "email": values["email"], "profile_label": profile.label, "scope_label": scope_text,
                  "deciders": deciders_of(profile)}


def _form_scope_label(profile: Profile, form: RequestForm) -> str:
    if profile.scope == "establishment" and form.establishment:
        return form.establishment["label"]
    if profile.scope == "pole" and form.pole:
        return f"Pôle {form.pole['name']}"
    if profile.scope == "organising_body" and form.organising_body:
        return f"PO {form.organising_body['label']}"
    return "Fédération Wallonie-Bruxelles"


# --- reading requests -------------------------------------------------------------------------------------------

_REQUEST_COLUMNS = (
    AccessRequest.id, AccessRequest.account, AccessRequest.first_name, AccessRequest.last_name, AccessRequest.email,
    AccessRequest.function, AccessRequest.profile, AccessRequest.establishment, AccessRequest.pole,
    AccessRequest.organising_body, AccessRequest.motivation, AccessRequest.status, AccessRequest.decided_by,
    AccessRequest.decided_at, AccessRequest.decision_note, AccessRequest.affiliation, AccessRequest.created_at,
    AccessRequest.establishment.name, AccessRequest.establishment.fase, AccessRequest.establishment.uai,
    AccessRequest.establishment.organising_body, AccessRequest.pole.name, AccessRequest.organising_body.name,
    AccessRequest.organising_body.fase, AccessRequest.decided_by.first_name, AccessRequest.decided_by.last_name,
    AccessRequest.account.username,
)


def _request_view(row: dict) -> dict:
    profile = Profile(row["profile"])
    return {
        **row,
        "name": _person(row["first_name"], row["last_name"]),
        "profile_label": profile.label,
        "scope_label": _scope_label(row),
        "status_label": STATUS_LABELS.get(row["status"], row["status"]),
        "decided_by_name": _person(row.get("decided_by.first_name"), row.get("decided_by.last_name")),
        "username": row.get("account.username") or "",
        "target": _target(row),
    }


async def list_requests(decider: AffiliationView | None, status: str | None = None) -> dict[str, list[dict]]:
    """The requests ``decider`` may decide on: pending (oldest first), then the latest decided ones.

    ``status`` is None (all), ``pending``, ``approved`` or ``refused``.
    """
    condition = scope_condition(AccessRequest, decider)
    result: dict[str, list[dict]] = {"pending": [], "decided": []}
    if condition is False:
        return result
    if status in (None, "pending"):
        query = AccessRequest.select(*_REQUEST_COLUMNS).where(AccessRequest.status == "pending").order_by(
            AccessRequest.created_at).order_by(AccessRequest.id)
        if condition is not True:
            query = query.where(condition)
        result["pending"] = [_request_view(r) for r in await query.limit(500)]
    if status != "pending":
        decided = [status] if status else ["approved", "refused"]
        query = AccessRequest.select(*_REQUEST_COLUMNS).where(AccessRequest.status.is_in(decided)).order_by(
            AccessRequest.decided_at, ascending=False).order_by(AccessRequest.id, ascending=False)
        if condition is not True:
            query = query.where(condition)
        result["decided"] = [_request_view(r) for r in await query.limit(DECIDED_SHOWN)]
    return result


async def request_for(user: CurrentUser, request_id: int) -> dict:
    """One request, if the person may decide on it; else :class:`AccessError` 404 (never say it exists)."""
    rows = await AccessRequest.select(*_REQUEST_COLUMNS).where(AccessRequest.id == request_id)
    if not rows:
        raise AccessError(404, "Cette demande d'accès n'existe pas ou ne relève pas de votre périmètre.")
    row = _request_view(rows[0])
    if not may_decide(user.active, row["target"]):
        raise AccessError(404, "Cette demande d'accès n'existe pas ou ne relève pas de votre périmètre.")
    return row


def _already_decided(row: dict) -> AccessError:
    when = day_text(local(row["decided_at"])) if isinstance(row.get("decided_at"), datetime) else ""
    who = f" par {row['decided_by_name']}" if row.get("decided_by_name") else ""
    verb = "acceptée" if row["status"] == "approved" else "refusée"
    return AccessError(409, f"Cette demande a déjà été {verb}{who}" + (f" le {when}" if when else "")
                       + ". Rien n'a été modifié.")


async def _decidable(user: CurrentUser, request_id: int) -> dict:
    row = await request_for(user, request_id)
    if row["status"] != "pending":
        raise _already_decided(row)
    own = row["account"] == user.account_id or (user.email and row["email"].lower() == user.email.lower())
    if own:
        raise AccessError(403, "Vous ne pouvez pas décider de votre propre demande d'accès : "
                               "une autre personne habilitée doit la traiter.")
    return row


async def _claim(user: CurrentUser, request_id: int, values: dict) -> None:
    """Move a pending request to its decision; a concurrent decision makes this fail with 409."""
    claimed = await AccessRequest.update({
        AccessRequest.decided_by: user.account_id, AccessRequest.decided_at: now(), **values,
    }).where((AccessRequest.id == request_id) & (AccessRequest.status == "pending")).returning(AccessRequest.id)
    if not claimed:
        raise AccessError(409, "Cette demande vient d'être traitée par une autre personne. Rien n'a été modifié.")


async def _account_for_request(row: dict) -> dict | None:
    """The account of the request: the one it is linked to, else an active account with the same e-mail."""
    if row["account"]:
        rows = await Account.select().where(Account.id == row["account"])
        return rows[0] if rows else None
    email = row["email"].strip().lower()
    candidates = await Account.select().where(
        Account.email.ilike(email) & (Account.is_active == True)).order_by(Account.id)  # noqa: E712
    return next((a for a in candidates if (a["email"] or "").lower() == email), None)


async def approve(user: CurrentUser, request_id: int) -> dict:
    """Grant what the request asks for, in one transaction, and return the decided request.

    Finds or creates the account (login name by the ``prenom.nom`` rule, activation link mailed), creates the
    affiliation granted by the decider, closes the request, records history and mails the requester. When the
    person already holds the profile, the request is simply closed.
    """
    row = await _decidable(user, request_id)
    target: Target = row["target"]
    profile = target.profile
    scope = {"establishment": None, "pole": None, "organising_body": None}
    if profile.scope == "establishment":
        scope["establishment"] = target.establishment_id
    elif profile.scope == "pole":
        scope["pole"] = target.pole_id
    elif profile.scope == "organising_body":
        scope["organising_body"] = target.organising_body_id
    actor = user.actor
    async with atomic():
        await _claim(user, request_id, {AccessRequest.status: "approved"})
        account = await _account_for_request(row)
        created = account is None
        if created:
            username = await allocate_username(row["first_name"], row["last_name"])
            inserted = await Account.insert(Account(
                username=username, first_name=row["first_name"], last_name=row["last_name"], email=row["email"],
                password_hash=None, origin="manual", created_at=now(),
            )).returning(Account.id)
            account = {"id": inserted[0]["id"], "username": username, "password_hash": None}
            await record(actor, "account", account["id"], "création",
                         after={"identifiant": username, "nom": row["name"], "email": row["email"],
                                "origine": "manual", "demande": request_id},
                         summary=f"Compte {username} créé (demande d'accès n° {request_id})",
                         establishment_id=scope["establishment"], pole_id=scope["pole"])
        account_id, username = account["id"], account["username"]
        existing = await Affiliation.select(Affiliation.id).where(_affiliation_match(account_id, profile, scope))
        if existing:
            affiliation_id = existing[0]["id"]
            note = f"{username} disposait déjà de ce profil : demande close sans nouvel accès."
        else:
            inserted = await Affiliation.insert(Affiliation(
                account=account_id, profile=profile.value, granted_at=now(), granted_by=user.account_id, **scope,
            )).returning(Affiliation.id)
            affiliation_id = inserted[0]["id"]
            await record(actor, "affiliation", affiliation_id, "attribution",
                         before={"profil": None},
                         after={"compte": username, "profil": profile.value, "périmètre": row["scope_label"],
                                "demande": request_id},
                         summary=f"Profil {profile.label} — {row['scope_label']} accordé à {username}",
                         establishment_id=scope["establishment"], pole_id=scope["pole"])
            if created:
                note = f"Compte {username} créé ; lien d'activation envoyé à {row['email']}."
            elif account["password_hash"] is None:
                note = f"Profil ajouté au compte {username} ; nouveau lien d'activation envoyé."
            else:
                note = f"Profil ajouté au compte existant {username}."
        await AccessRequest.update({
            AccessRequest.affiliation: affiliation_id, AccessRequest.account: account_id,
            AccessRequest.decision_note: note,
        }).where(AccessRequest.id == request_id)
        await record(actor, "access_request", request_id, "acceptée",
                     before={"statut": "pending"},
                     after={"statut": "approved", "compte": username, "affiliation": affiliation_id, "note": note},
                     summary=f"Demande d'accès de {row['name']} acceptée ({profile.label})",
                     establishment_id=scope["establishment"], pole_id=scope["pole"])
        if not existing and account["password_hash"] is None:
            await issue_activation(account_id, actor)
        if existing:
            next_step = "Vous disposiez déjà de ce profil : rien ne change pour vous."
        elif account["password_hash"] is None:
            next_step = ("Un second message contient le lien à ouvrir pour choisir votre mot de passe "
                         "(valable 7 jours).")
        else:
            next_step = "Connectez-vous avec votre mot de passe habituel ; le nouveau profil est disponible."
        await send_mail(
            row["email"], "Portail : votre demande d'accès est acceptée",
            f"Bonjour {row['name']},\n\n"
            f"Votre demande d'accès au profil « {profile.label} » pour {row['scope_label']} a été acceptée "
            f"par {user.full_name}.\nVotre identifiant : {username}\n{next_step}\n",
            establishment_id=scope["establishment"],
        )
    return await request_for(user, request_id)


async def refuse(user: CurrentUser, request_id: int, reason: str) -> dict:
    """Refuse a request with a reason (required), record it and mail the requester; returns the request."""
    row = await _decidable(user, request_id)
    reason = (reason or "").strip()
    if not reason:
        raise AccessError(400, errors={"reason": "Motif du refus : indiquez pourquoi la demande est refusée."})
    if len(reason) > REASON_MAX:
        raise AccessError(400, errors={"reason": f"Motif du refus : {REASON_MAX} caractères au maximum."})
    target: Target = row["target"]
    async with atomic():
        await _claim(user, request_id, {AccessRequest.status: "refused", AccessRequest.decision_note: reason})
        await record(user.actor, "access_request", request_id, "refusée",
                     before={"statut": "pending"}, after={"statut": "refused", "motif": reason},
                     summary=f"Demande d'accès de {row['name']} refusée ({row['profile_label']})",
                     establishment_id=target.establishment_id, pole_id=target.pole_id)
        await send_mail(
            row["email"], "Portail : votre demande d'accès est refusée",
            f"Bonjour {row['name']},\n\n"
            f"Votre demande d'accès au profil « {row['profile_label']} » pour {row['scope_label']} a été refusée "
            f"par {user.full_name}.\nMotif : {reason}\n\n"
            "Pour toute question, adressez-vous à la direction de votre établissement.\n",
            establishment_id=target.establishment_id,
        )
    return await request_for(user, request_id)


# --- affiliations and revocation (annex 5) ------------------------------------------------------------------------

_AFFILIATION_COLUMNS = (
    Affiliation.id, Affiliation.account, Affiliation.profile, Affiliation.establishment, Affiliation.pole,
    Affiliation.organising_body, Affiliation.granted_at, Affiliation.revoked_at,
    Affiliation.establishment.name, Affiliation.establishment.fase, Affiliation.establishment.uai,
    Affiliation.establishment.organising_body, Affiliation.pole.name, Affiliation.organising_body.name,
    Affiliation.organising_body.fase, Affiliation.account.username, Affiliation.account.first_name,
    Affiliation.account.last_name, Affiliation.account.email, Affiliation.granted_by.first_name,
    Affiliation.granted_by.last_name, Affiliation.revoked_by.first_name, Affiliation.revoked_by.last_name,
)


def _affiliation_view(row: dict) -> dict:
    profile = Profile(row["profile"])
    return {
        **row,
        "name": _person(row.get("account.first_name"), row.get("account.last_name")),
        "username": row.get("account.username") or "",
        "profile_label": profile.label,
        "scope_label": _scope_label(row),
        "granted_by_name": _person(row.get("granted_by.first_name"), row.get("granted_by.last_name")),
        "revoked_by_name": _person(row.get("revoked_by.first_name"), row.get("revoked_by.last_name")),
        "target": _target(row),
    }


async def list_affiliations(decider: AffiliationView | None, search: str = "", page: int = 1) -> tuple[list[dict], int]:
    """The active affiliations ``decider`` may revoke, by name, a page at a time, with the total count."""
    condition = scope_condition(Affiliation, decider)
    if condition is False:
        return [], 0
    query = Affiliation.select(*_AFFILIATION_COLUMNS).where(Affiliation.revoked_at.is_null())
    count = Affiliation.count().where(Affiliation.revoked_at.is_null())
    conditions = [] if condition is True else [condition]
    search = " ".join((search or "").split())[:100]
    if search:
        pattern = "%" + search.replace("%", "").replace("_", "") + "%"
        conditions.append(Affiliation.account.last_name.ilike(pattern) | Affiliation.account.first_name.ilike(pattern)
                          | Affiliation.account.username.ilike(pattern))
    for extra in conditions:
        query = query.where(extra)
        count = count.where(extra)
    page = max(1, page)
    rows = await query.order_by(Affiliation.account.last_name, Affiliation.account.first_name,
                                Affiliation.id).limit(AFFILIATIONS_PER_PAGE).offset((page - 1) * AFFILIATIONS_PER_PAGE)
    return [_affiliation_view(r) for r in rows], await count


async def affiliation_for(user: CurrentUser, affiliation_id: int) -> dict:
    """One affiliation, if the person may revoke it (404 otherwise); 409 when it is already revoked."""
    rows = await Affiliation.select(*_AFFILIATION_COLUMNS).where(Affiliation.id == affiliation_id)
    if not rows or not may_decide(user.active, _target(rows[0])):
        raise AccessError(404, "Cet accès n'existe pas ou ne relève pas de votre périmètre.")
    row = _affiliation_view(rows[0])
    if row["revoked_at"] is not None:
        who = f" par {row['revoked_by_name']}" if row["revoked_by_name"] else ""
        raise AccessError(409, f"Cet accès a déjà été révoqué{who}. Rien n'a été modifié.")
    if row["account"] == user.account_id:
        others = await Affiliation.count().where((Affiliation.account == user.account_id)
                                                 & Affiliation.revoked_at.is_null() & (Affiliation.id != affiliation_id))
        if others == 0:
            raise AccessError(409, "Vous ne pouvez pas révoquer votre dernier profil : demandez-le à une autre "
                                   "personne habilitée. Rien n'a été modifié.")
    return row


async def revoke(user: CurrentUser, affiliation_id: int, reason: str) -> dict:
    """Revoke an affiliation (annex 5) with a reason: it stops at once, history keeps it, the person is told."""
    row = await affiliation_for(user, affiliation_id)
    reason = (reason or "").strip()
    if not reason:
        raise AccessError(400, errors={"reason": "Motif de la révocation : indiquez pourquoi l'accès est révoqué."})
    if len(reason) > REASON_MAX:
        raise AccessError(400, errors={"reason": f"Motif de la révocation : {REASON_MAX} caractères au maximum."})
    target: Target = row["target"]
    current = now()
    async with atomic():
        done = await Affiliation.update({Affiliation.revoked_at: current, Affiliation.revoked_by: user.account_id}).where(
            (Affiliation.id == affiliation_id) & Affiliation.revoked_at.is_null()).returning(Affiliation.id)
        if not done:
            raise AccessError(409, "Cet accès vient d'être révoqué par une autre personne. Rien n'a été modifié.")
        await record(user.actor, "affiliation", affiliation_id, "révocation",
                     before={"compte": row["username"], "profil": row["profile"], "périmètre": row["scope_label"],
                             "révoqué": None},
                     after={"révoqué": current.isoformat(), "motif": reason},
                     summary=f"Profil {row['profile_label']} — {row['scope_label']} révoqué pour {row['username']}",
                     establishment_id=target.establishment_id, pole_id=target.pole_id)
        email = row.get("account.email") or ""
        if email:
            await send_mail(
                email, "Portail : un accès vous a été retiré",
                f"Bonjour {row['name']},\n\n"
                f"Votre accès au profil « {row['profile_label']} » pour {row['scope_label']} a été révoqué "
                f"par {user.full_name}.\nMotif : {reason}\n",
                establishment_id=target.establishment_id,
            )
    row.update(revoked_at=current, revoked_by_name=user.full_name)
    return row



async def revocation_notice(user: CurrentUser, affiliation_id: int) -> str:
    """The confirmation shown after ``user`` revoked ``affiliation_id`` (empty when it is not one of theirs)."""
    rows = await Affiliation.select(Affiliation.profile, Affiliation.account.first_name,
                                    Affiliation.account.last_name, Affiliation.account.username).where(
        (Affiliation.id == affiliation_id) & Affiliation.revoked_at.is_not_null()
        & (Affiliation.revoked_by == user.account_id))
    if not rows:
        return ""
    row = rows[0]
    return (f"L'accès « {Profile(row['profile']).label} » de {_person(row['account.first_name'], row['account.last_name'])} "
            f"({row['account.username']}) est révoqué : il ne donne plus accès au portail.")
