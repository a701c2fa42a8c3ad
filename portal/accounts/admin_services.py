"""User management by administrators (SPEC §4): list, create, edit, hide, reset, export.

A school administrator (``admin_etablissement``) manages the accounts holding an active affiliation at the
establishment they act for; the Administration manages every account. Scope is checked here, for every call:
an account outside the person's scope is reported as :class:`OutOfScope`, which the routes turn into a 404 so
that its existence never leaks. No Litestar import here.

The pure rules (criteria, validation of a person, CSV) come first; the functions that touch the database follow.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import urlencode

from portal.accounts import rules
from portal.accounts.identity import AffiliationView, CurrentUser
from portal.accounts.services import (
    AccountError,
    allocate_username,
    email_problem,
    issue_activation,
)
from portal.accounts.tables import Account, Affiliation
from portal.core.clock import now
from portal.core.db import atomic, is_sqlite
from portal.core.forms import INCOMPLETE_FORM, form_int
from portal.directory.services import find_establishment
from portal.directory.tables import OrganisingBody, Pole
from portal.history.services import record
from portal.permissions import Profile

PER_PAGE = 50
NAME_MAX = 100
QUERY_MAX = 100
BULK_MAX = 200
ID_MAX = 2**31 - 1
ESTABLISHMENT_PROFILES: tuple[Profile, ...] = (
    Profile.TEACHER, Profile.LEARNER, Profile.DDFTP, Profile.SCHOOL_ADMIN, Profile.DIRECTION,
)
CSV_HEADER = ("nom", "prénom", "identifiant", "profils", "origine", "état")
STALE_MESSAGE = (
    "Ce compte a été modifié par quelqu'un d'autre entre-temps. Vos modifications n'ont pas été enregistrées : "
    "le formulaire montre maintenant la version actuelle ; reprenez vos changements si nécessaire."
)


SHARED_EMAIL_MESSAGE = (
    "Ce compte a aussi des profils dans un autre établissement : seule l'Administration peut modifier son "
    "adresse e-mail."
)


class AdminError(AccountError):
    """A refused change (status 400), with the French messages to show."""


class StaleVersion(AdminError):
    """The form was filled from an older version of the account (status 409)."""

    def __init__(self) -> None:
        super().__init__(STALE_MESSAGE)


class OutOfScope(Exception):
    """The account does not exist or lies outside the person's scope: shown as « page introuvable »."""


# --- pure rules -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Criteria:
    """What the list shows: a text, a profile, hidden accounts or not, a page. Kept in the URL."""

    q: str = ""
    profile: str = ""
    show_hidden: bool = False
    page: int = 1

    def query_string(self, page: int | None = None, with_page: bool = True) -> str:
        """The URL query that reproduces these criteria (``page`` overrides the page; defaults are left out)."""
        params: list[tuple[str, str]] = []
        if self.q:
            params.append(("q", self.q))
        if self.profile:
            params.append(("profil", self.profile))
        if self.show_hidden:
            params.append(("masques", "1"))
        number = self.page if page is None else page
        if with_page and number > 1:
            params.append(("page", str(number)))
        return urlencode(params)

    def url(self, page: int | None = None) -> str:
        """``/utilisateurs`` with these criteria."""
        query = self.query_string(page)
        return "/utilisateurs" + (f"?{query}" if query else "")


def parse_page(raw: str | None) -> int:
    """A page number from the URL: anything that is not a positive integer means the first page."""
    raw = (raw or "").strip()
    if not raw.isdigit() or len(raw) > 6:
        return 1
    return max(1, int(raw))


def parse_criteria(q: str | None, profile: str | None, hidden: str | None, page: str | None,
                   allowed: tuple[Profile, ...] | frozenset[Profile]) -> Criteria:
    """Read the list criteria leniently: an unknown profile is ignored, a long text is cut."""
    text = " ".join((q or "").split())[:QUERY_MAX]
    code = (profile or "").strip()
    if code not in {p.value for p in allowed}:
        code = ""
    return Criteria(q=text, profile=code, show_hidden=(hidden or "") in {"1", "on", "oui"}, page=parse_page(page))


def page_count(total: int, per_page: int = PER_PAGE) -> int:
    """How many pages ``total`` rows take (at least one, so that an empty list has a page 1)."""
    return max(1, -(-total // per_page))


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(ch) in {"Cc", "Cf"} for ch in text)


def person_problems(first_name: str, last_name: str, email: str) -> list[str]:
    """Every way the names and e-mail of a person are unacceptable, in French (empty: acceptable)."""
    problems: list[str] = []
    for value, label in ((first_name, "prénom"), (last_name, "nom")):
        if not value:
            problems.append(f"Indiquez le {label}.")
        elif len(value) > NAME_MAX:
            problems.append(f"Le {label} ne peut dépasser {NAME_MAX} caractères.")
        elif _has_control_characters(value):
            problems.append(f"Le {label} contient des caractères non autorisés.")
    if first_name and last_name and not problems:
        try:
            rules.base_username(first_name, last_name)
        except ValueError:
            problems.append("Le prénom ou le nom doit contenir au moins une lettre.")
    problem = email_problem(email)
    if problem:
        problems.append(problem)
    return problems


def clean(value: str | None) -> str:
    """A form value without surrounding spaces and with inner runs of spaces collapsed."""
    return " ".join((value or "").split())


def origin_label(origin: str) -> str:
    """The word shown in the origin badge."""
    return "import" if origin == "import" else "manuel"


def state_label(activated: bool) -> str:
    """Whether the person has chosen a password."""
    return "activé" if activated else "en attente d'activation"


def _csv_cell(value: str) -> str:
    """A cell safe to open in a spreadsheet: a leading formula character is neutralised."""
    text = str(value)
    if text[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return "'" + text
    return text


def csv_bytes(rows: list[AccountRow]) -> bytes:
    """The list as CSV for Excel: ``;`` separator, UTF-8 with a byte-order mark, one line per account."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow([_csv_cell(v) for v in (row.last_name, row.first_name, row.username,
                                                 ", ".join(row.profiles), row.origin_label, row.state_label)])
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


# --- what the screens show -------------------------------------------------------------------------------------


@dataclass
class AccountRow:
    """One account as the list, the detail page and the export show it."""

    id: int
    username: str
    first_name: str
    last_name: str
    email: str
    origin: str
    activated: bool
    hidden: bool
    version: int
    created_at: datetime | None = None
    profiles: list[str] = field(default_factory=list)
    shared: bool = False  # also holds profiles outside the school administrator's establishment

    @property
    def is_manual(self) -> bool:
        """Created by hand (only those can be hidden)."""
        return self.origin != "import"

    @property
    def origin_label(self) -> str:
        """``import`` or ``manuel``."""
        return origin_label(self.origin)

    @property
    def state_label(self) -> str:
        """``activé`` or ``en attente d'activation``."""
        return state_label(self.activated)


@dataclass
class Listing:
    """One page of the list."""

    rows: list[AccountRow]
    total: int
    criteria: Criteria
    pages: int


@dataclass(frozen=True)
class Scope:
    """Whose accounts a person manages: everything (Administration) or one establishment."""

    everything: bool
    establishment_id: int | None = None
    label: str = ""


def scope_of(user: CurrentUser) -> Scope:
    """The scope of the affiliation acted for. A profile without one manages nothing (the guard stops it first)."""
    active = user.active
    if active is not None and active.profile == Profile.ADMINISTRATION:
        return Scope(everything=True, label="tous les comptes du portail")
    if active is not None and active.profile == Profile.SCHOOL_ADMIN and active.establishment_id:
        return Scope(everything=False, establishment_id=active.establishment_id, label=active.scope_label)
    raise OutOfScope("Aucun périmètre de gestion des comptes pour ce profil.")


def filter_profiles(user: CurrentUser) -> tuple[Profile, ...]:
    """The profiles offered by the list's profile filter."""
    return tuple(Profile) if scope_of(user).everything else ESTABLISHMENT_PROFILES


def creatable_profiles(user: CurrentUser) -> tuple[Profile, ...]:
    """The profiles the person may give to a new account."""
    return tuple(Profile) if scope_of(user).everything else ESTABLISHMENT_PROFILES


# --- reading --------------------------------------------------------------------------------------------------


def _scope_members(scope: Scope):
    """A sub-select of the ids of the accounts in an establishment's scope."""
    return Affiliation.select(Affiliation.account).where(
        (Affiliation.establishment == scope.establishment_id) & (Affiliation.revoked_at.is_null())
    )


def _conditions(scope: Scope, criteria: Criteria) -> list:
    conditions = []
    if not scope.everything:
        conditions.append(Account.id.is_in(_scope_members(scope)))
    if criteria.profile:
        holders = Affiliation.select(Affiliation.account).where(
            (Affiliation.profile == criteria.profile) & (Affiliation.revoked_at.is_null())
        )
        if not scope.everything:
            holders = holders.where(Affiliation.establishment == scope.establishment_id)
        conditions.append(Account.id.is_in(holders))
    if not criteria.show_hidden:
        conditions.append(Account.hidden == False)  # noqa: E712
    sqlite = is_sqlite()
    for word in criteria.q.split()[:5]:
        pattern = f"%{word}%"
        match = (lambda column: column.like(pattern)) if sqlite else (lambda column: column.ilike(pattern))
        conditions.append(match(Account.first_name) | match(Account.last_name) | match(Account.username))
    return conditions


_ROW_COLUMNS = (
    Account.id, Account.username, Account.first_name, Account.last_name, Account.email, Account.origin,
    Account.password_hash, Account.hidden, Account.version, Account.created_at,
)


def _row(data: dict) -> AccountRow:
    return AccountRow(
        id=data["id"], username=data["username"], first_name=data["first_name"], last_name=data["last_name"],
        email=data["email"] or "", origin=data["origin"], activated=bool(data["password_hash"]),
        hidden=bool(data["hidden"]), version=data["version"], created_at=data.get("created_at"),
    )


async def _attach_profiles(rows: list[AccountRow], scope: Scope) -> None:
    """Fill ``profiles`` of ``rows``: one query per 500 accounts, whatever the number of affiliations."""
    by_id = {row.id: row for row in rows}
    ids = list(by_id)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        query = Affiliation.select(
            Affiliation.id, Affiliation.account, Affiliation.profile, Affiliation.establishment,
            Affiliation.pole, Affiliation.organising_body, Affiliation.establishment.name,
            Affiliation.establishment.fase, Affiliation.establishment.uai, Affiliation.pole.name,
            Affiliation.organising_body.name,
        ).where(Affiliation.account.is_in(chunk) & Affiliation.revoked_at.is_null()).order_by(Affiliation.id)
        if not scope.everything:
            query = query.where(Affiliation.establishment == scope.establishment_id)
        for data in await query:
            view = _affiliation_view(data)
            by_id[data["account"]].profiles.append(view.label if scope.everything else view.profile.label)


def _affiliation_view(data: dict) -> AffiliationView:
    fase, uai = data.get("establishment.fase"), data.get("establishment.uai")
    return AffiliationView(
        id=data["id"], profile=Profile(data["profile"]), establishment_id=data["establishment"],
        establishment_name=data.get("establishment.name") or "",
        establishment_code=f"FASE {fase}" if fase else (f"UAI {uai}" if uai else ""),
        pole_id=data["pole"], pole_name=data.get("pole.name") or "",
        organising_body_id=data["organising_body"], organising_body_name=data.get("organising_body.name") or "",
    )


async def list_accounts(user: CurrentUser, criteria: Criteria, per_page: int = PER_PAGE) -> Listing:
    """One page of the accounts in the person's scope matching ``criteria``: three queries, whatever the size."""
    scope = scope_of(user)
    conditions = _conditions(scope, criteria)
    count = Account.count()
    for condition in conditions:
        count = count.where(condition)
    total = await count
    pages = page_count(total, per_page)
    criteria = replace(criteria, page=min(criteria.page, pages))
    query = Account.select(*_ROW_COLUMNS)
    for condition in conditions:
        query = query.where(condition)
    data = await query.order_by(Account.last_name, Account.first_name, Account.id).limit(per_page).offset(
        (criteria.page - 1) * per_page)
    rows = [_row(d) for d in data]
    await _attach_profiles(rows, scope)
    return Listing(rows=rows, total=total, criteria=criteria, pages=pages)


async def export_accounts(user: CurrentUser, criteria: Criteria) -> list[AccountRow]:
    """Every account matching ``criteria`` (no paging), for the CSV export."""
    scope = scope_of(user)
    query = Account.select(*_ROW_COLUMNS)
    for condition in _conditions(scope, criteria):
        query = query.where(condition)
    rows = [_row(d) for d in await query.order_by(Account.last_name, Account.first_name, Account.id)]
    await _attach_profiles(rows, scope)
    return rows


async def _in_scope(user: CurrentUser, account_id: int) -> dict:
    """The account row when it exists and lies in the person's scope, else :class:`OutOfScope`."""
    if not 0 < account_id <= ID_MAX:
        raise OutOfScope(account_id)
    scope = scope_of(user)
    query = Account.select(*_ROW_COLUMNS).where(Account.id == account_id)
    if not scope.everything:
        query = query.where(Account.id.is_in(_scope_members(scope)))
    rows = await query
    if not rows:
        raise OutOfScope(account_id)
    return rows[0]


async def get_account(user: CurrentUser, account_id: int) -> AccountRow:
    """One account of the person's scope with its profiles (in scope), else :class:`OutOfScope`."""
    row = _row(await _in_scope(user, account_id))
    scope = scope_of(user)
    await _attach_profiles([row], scope)
    row.shared = await _held_elsewhere(scope, account_id)
    return row


async def _held_elsewhere(scope: Scope, account_id: int) -> bool:
    """True when a school administrator looks at an account that also holds a profile outside their establishment.

    Such an account's e-mail address is left to the Administration: changing it, then resetting the password,
    would hand another establishment's access to whoever chose the address.
    """
    if scope.everything:
        return False
    return await Affiliation.exists().where(
        (Affiliation.account == account_id) & (Affiliation.revoked_at.is_null())
        & (Affiliation.establishment.is_null() | (Affiliation.establishment != scope.establishment_id))
    )


# --- changes --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewAccount:
    """What the creation form sends (raw strings)."""

    first_name: str = ""
    last_name: str = ""
    email: str = ""
    profile: str = ""
    establishment: str = ""
    pole: str = ""
    organising_body: str = ""

    @classmethod
    def from_form(cls, data: dict[str, str]) -> NewAccount:
        """Read and tidy the form fields."""
        return cls(
            first_name=clean(data.get("first_name")), last_name=clean(data.get("last_name")),
            email=clean(data.get("email")), profile=clean(data.get("profile")),
            establishment=clean(data.get("establishment")).upper(), pole=clean(data.get("pole")),
            organising_body=clean(data.get("organising_body")),
        )


@dataclass(frozen=True)
class Created:
    """The outcome of a creation."""

    id: int
    username: str
    email: str


async def _target(user: CurrentUser, form: NewAccount) -> tuple[Profile | None, dict, list[str]]:
    """The profile and the establishment / pole / PO of a new affiliation, or French problems."""
    scope = scope_of(user)
    allowed = creatable_profiles(user)
    if form.profile not in {p.value for p in allowed}:
        return None, {}, ["Choisissez un profil de la liste."]
    profile = Profile(form.profile)
    where: dict = {"establishment": None, "pole": None, "organising_body": None}
    if not scope.everything:
        where["establishment"] = scope.establishment_id
        return profile, where, []
    if profile.scope == "establishment":
        code = form.establishment
        if not code:
            return profile, where, ["Indiquez le numéro FASE ou UAI de l'établissement."]
        found = await find_establishment(code)
        if found is None:
            return profile, where, [f"Aucun établissement ne porte le numéro FASE ou UAI « {code[:20]} »."]
        where["establishment"] = found["id"]
    elif profile.scope == "pole":
        if not form.pole.isdigit() or not 0 < int(form.pole) <= ID_MAX or not await Pole.exists().where(
                Pole.id == int(form.pole)):
            return profile, where, ["Choisissez le pôle du coordonnateur."]
        where["pole"] = int(form.pole)
    elif profile.scope == "organising_body":
        code = form.organising_body
        rows = await OrganisingBody.select(OrganisingBody.id).where(OrganisingBody.fase == code) if (
            code and len(code) <= 20) else []
        if not rows:
            return profile, where, ["Indiquez le numéro FASE d'un pouvoir organisateur existant."]
        where["organising_body"] = rows[0]["id"]
    return profile, where, []


def _unique_violation(error: Exception) -> bool:
    return type(error).__name__ in {"IntegrityError", "UniqueViolationError"}


async def create_account(user: CurrentUser, form: NewAccount) -> Created:
    """Create a manual account without password, its affiliation, and mail the one-time activation link.

    One transaction: the account, the affiliation, the token, the outbox mail and the history all land, or none.
    Raises :class:`AdminError` with French messages on bad input.
    """
    problems = person_problems(form.first_name, form.last_name, form.email)
    profile, where, target_problems = await _target(user, form)
    problems += target_problems
    if problems or profile is None:
        raise AdminError(problems)
    actor = user.actor
    for attempt in range(3):
        try:
            async with atomic():
                username = await allocate_username(form.first_name, form.last_name)
                current = now()
                inserted = await Account.insert(Account(
                    username=username, first_name=form.first_name, last_name=form.last_name, email=form.email,
                    password_hash=None, origin="manual", created_at=current,
                )).returning(Account.id)
                account_id = inserted[0]["id"]
                await Affiliation.insert(Affiliation(account=account_id, profile=profile.value, granted_at=current,
                                                     granted_by=user.account_id, **where))
                await record(
                    actor, "account", account_id, "création",
                    before=None,
                    after={"username": username, "first_name": form.first_name, "last_name": form.last_name,
                           "email": form.email, "origin": "manual", "profile": profile.value,
                           "establishment_id": where["establishment"], "pole_id": where["pole"],
                           "organising_body_id": where["organising_body"]},
                    summary=f"Compte créé : {username} ({profile.label})",
                    establishment_id=where["establishment"], pole_id=where["pole"],
                )
                await issue_activation(account_id, actor, establishment_id=where["establishment"])
            return Created(id=account_id, username=username, email=form.email)
        except Exception as error:  # a concurrent creation took the same name: allocate again
            if attempt == 2 or not _unique_violation(error):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def parse_version(raw: str | None) -> int:
    """The version carried by an edit form; a missing or garbled one is refused."""
    version = form_int(raw)
    if version is None:
        raise AdminError(INCOMPLETE_FORM)
    return version


async def update_account(user: CurrentUser, account_id: int, first_name: str, last_name: str, email: str,
                         version: str | None) -> bool:
    """Save names and e-mail when the form's version is the current one. True when something changed.

    Raises :class:`OutOfScope`, :class:`AdminError` (bad input) or :class:`StaleVersion` (someone saved first).
    """
    await _in_scope(user, account_id)
    expected = parse_version(version)
    first_name, last_name, email = clean(first_name), clean(last_name), clean(email)
    problems = person_problems(first_name, last_name, email)
    if problems:
        raise AdminError(problems)
    async with atomic():
        current = await _in_scope(user, account_id)
        if current["version"] != expected:
            raise StaleVersion()
        after = {"first_name": first_name, "last_name": last_name, "email": email}
        before = {key: current[key] for key in after}
        changed = {key: value for key, value in after.items() if before[key] != value}
        if not changed:
            return False
        if "email" in changed and await _held_elsewhere(scope_of(user), account_id):
            raise AdminError(SHARED_EMAIL_MESSAGE)
        updated = await Account.update({
            Account.first_name: first_name, Account.last_name: last_name, Account.email: email,
            Account.version: Account.version + 1,
        }).where((Account.id == account_id) & (Account.version == expected)).returning(Account.id)
        if not updated:
            raise StaleVersion()
        await record(user.actor, "account", account_id, "modification",
                     before={k: before[k] for k in changed}, after=changed,
                     summary=f"Compte modifié : {current['username']}")
    return True


async def set_hidden(user: CurrentUser, account_id: int, hidden: bool) -> bool:
    """Hide or show again a manual account. True when it changed; imported accounts are refused."""
    async with atomic():
        current = await _in_scope(user, account_id)
        if current["origin"] == "import":
            raise AdminError(
                "Seuls les comptes créés manuellement peuvent être masqués ou réaffichés. Un compte importé "
                "disparaît des listes lorsqu'un import ultérieur ne le contient plus."
            )
        if bool(current["hidden"]) == hidden:
            return False
        await Account.update({Account.hidden: hidden, Account.version: Account.version + 1}).where(
            Account.id == account_id)
        await record(user.actor, "account", account_id, "masqué" if hidden else "réaffiché",
                     before={"hidden": not hidden}, after={"hidden": hidden},
                     summary=f"Compte {'masqué' if hidden else 'réaffiché'} : {current['username']}")
    return True


def _refuse_self(user: CurrentUser, ids: list[int]) -> None:
    if user.account_id in ids:
        raise AdminError("Vous ne pouvez pas réinitialiser votre propre compte ici : changez votre mot de passe "
                         "depuis « Mon compte ».")


async def reset_account(user: CurrentUser, account_id: int) -> str:
    """Withdraw the password, close the sessions and mail a new one-time link. Returns the login name."""
    async with atomic():
        current = await _in_scope(user, account_id)
        _refuse_self(user, [account_id])
        await issue_activation(account_id, user.actor, purpose="reset",
                               establishment_id=user.active.establishment_id if user.active else None)
    return current["username"]


def parse_ids(values: list[str]) -> list[int]:
    """The account ids of a bulk selection, in order and without duplicates; garbled ones are refused."""
    ids: list[int] = []
    for value in values:
        value = (value or "").strip()
        if not value.isdigit() or len(value) > 10 or not 0 < int(value) <= ID_MAX:
            raise AdminError("La sélection contient une valeur invalide ; rechargez la page. Rien n'a été modifié.")
        if int(value) not in ids:
            ids.append(int(value))
    if not ids:
        raise AdminError("Cochez au moins un compte à réinitialiser.")
    if len(ids) > BULK_MAX:
        raise AdminError(f"Réinitialisez au plus {BULK_MAX} comptes à la fois.")
    return ids


async def reset_accounts(user: CurrentUser, ids: list[int]) -> list[str]:
    """Reset several accounts at once, all or nothing. Returns their login names."""
    _refuse_self(user, ids)
    scope = scope_of(user)
    async with atomic():
        query = Account.select(Account.id, Account.username).where(Account.id.is_in(ids))
        if not scope.everything:
            query = query.where(Account.id.is_in(_scope_members(scope)))
        found = {row["id"]: row["username"] for row in await query}
        if len(found) != len(ids):
            raise OutOfScope(sorted(set(ids) - set(found)))
        for account_id in ids:
            await issue_activation(account_id, user.actor, purpose="reset",
                                   establishment_id=user.active.establishment_id if user.active else None)
    return [found[i] for i in ids]
