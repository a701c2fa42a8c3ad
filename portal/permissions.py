"""The one permission table: which profile may do what.

Every route names an action of this table in its ``opt`` (or says it is public); the guard in
``portal.accounts.auth`` enforces it for every request. Scope (which establishment, pole or PO) is checked by the
services against the affiliation the person acts for. ``tests/integration/test_permissions.py`` walks the table.
"""

from __future__ import annotations

from enum import StrEnum


class Profile(StrEnum):
    """The profiles of SPEC §3 (codes stored in affiliations)."""

    TEACHER = "enseignant"
    LEARNER = "apprenant"
    DDFTP = "ddftp"
    SCHOOL_ADMIN = "admin_etablissement"
    DIRECTION = "direction"
    COORDINATOR = "coordonnateur"
    DELEGUE_PO = "delegue_po"
    ADMINISTRATION = "administration"

    @property
    def label(self) -> str:
        """The French name shown to people."""
        return PROFILE_LABELS[self]

    @property
    def scope(self) -> str:
        """What an affiliation of this profile is tied to: establishment, pole, organising_body or none."""
        return PROFILE_SCOPES[self]


PROFILE_LABELS = {
    Profile.TEACHER: "Enseignant",
    Profile.LEARNER: "Apprenant",
    Profile.DDFTP: "DDFTP",
    Profile.SCHOOL_ADMIN: "Administrateur d'établissement",
    Profile.DIRECTION: "Direction",
    Profile.COORDINATOR: "Coordonnateur de pôle",
    Profile.DELEGUE_PO: "Délégué PO",
    Profile.ADMINISTRATION: "Administration",
}

PROFILE_SCOPES = {
    Profile.TEACHER: "establishment",
    Profile.LEARNER: "establishment",
    Profile.DDFTP: "establishment",
    Profile.SCHOOL_ADMIN: "establishment",
    Profile.DIRECTION: "establishment",
    Profile.COORDINATOR: "pole",
    Profile.DELEGUE_PO: "organising_body",
    Profile.ADMINISTRATION: "none",
}

ALL = frozenset(Profile)
STAFF = ALL - {Profile.LEARNER}

#: action → profiles allowed. Scope rules live in the services; this says who may try at all.
PERMISSIONS: dict[str, frozenset[Profile]] = {
    "dashboard.view": ALL,
    "account.manage_own": ALL,
    "guide.read": ALL,
    "contact.send": ALL,
    "messages.read": ALL,
    "messages.write": frozenset({Profile.ADMINISTRATION}),
    "history.read": frozenset({Profile.DIRECTION, Profile.ADMINISTRATION}),
    "users.manage": frozenset({Profile.SCHOOL_ADMIN, Profile.ADMINISTRATION}),
    "outbox.read": frozenset({Profile.SCHOOL_ADMIN, Profile.ADMINISTRATION}),
    "access.request": ALL,
    "access.decide": frozenset({Profile.DIRECTION, Profile.DELEGUE_PO, Profile.SCHOOL_ADMIN, Profile.ADMINISTRATION}),
    # UAA validation (CEPU). Scope: the establishment acted for; a learner only ever sees their own results.
    "uaa.search": frozenset({Profile.TEACHER, Profile.DIRECTION, Profile.SCHOOL_ADMIN}),
    "uaa.encode": frozenset({Profile.TEACHER, Profile.DIRECTION}),
    "uaa.attestation": frozenset({Profile.TEACHER, Profile.DIRECTION, Profile.SCHOOL_ADMIN}),
    "uaa.import_learners": frozenset({Profile.SCHOOL_ADMIN, Profile.DIRECTION}),
    "uaa.own_results": frozenset({Profile.LEARNER}),
    "directory.import": frozenset({Profile.ADMINISTRATION}),
    # Pole conventions (e-Pôles) — actions of portal/conventions. Scope rules in portal/conventions/services.py.
    "conventions.read": frozenset({Profile.COORDINATOR, Profile.DIRECTION, Profile.DELEGUE_PO, Profile.ADMINISTRATION}),
    "conventions.edit": frozenset({Profile.COORDINATOR, Profile.DIRECTION, Profile.DELEGUE_PO}),
    "conventions.sign": frozenset({Profile.DELEGUE_PO}),
    "conventions.validate": frozenset({Profile.ADMINISTRATION}),
    "conventions.acknowledge": frozenset({Profile.DIRECTION}),
    "conventions.change_request": frozenset({Profile.COORDINATOR, Profile.DIRECTION, Profile.DELEGUE_PO}),
    "conventions.reference": frozenset({Profile.ADMINISTRATION}),
    # Competency tracking (CERISE PRO / CPRO) — actions of portal/competencies. Scope in its services.
    "competencies.scenarios": frozenset({Profile.TEACHER}),
    "competencies.evaluate": frozenset({Profile.TEACHER}),
    "competencies.own_evaluations": frozenset({Profile.LEARNER}),
    "competencies.frameworks": frozenset({Profile.TEACHER, Profile.DDFTP, Profile.ADMINISTRATION}),
    "competencies.load_frameworks": frozenset({Profile.DDFTP, Profile.ADMINISTRATION}),
}


def allowed(profile: Profile | str | None, action: str) -> bool:
    """True when ``profile`` may perform ``action``. Unknown actions are refused: the table is closed."""
    if profile is None:
        return False
    profiles = PERMISSIONS.get(action)
    if profiles is None:
        return False
    return Profile(profile) in profiles


def profiles_for(action: str) -> frozenset[Profile]:
    """The profiles that may perform ``action``."""
    return PERMISSIONS.get(action, frozenset())
