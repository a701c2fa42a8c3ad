"""Who is making the request: the account, its affiliations and the one it acts for. No Litestar import."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from portal.history.services import Actor
from portal.permissions import Profile, allowed


def token_digest(token: str) -> str:
    """SHA-256 of a secret token: the database never holds the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class AffiliationView:
    """An affiliation with the names needed to show it."""

    id: int
    profile: Profile
    establishment_id: int | None = None
    establishment_name: str = ""
    establishment_code: str = ""
    pole_id: int | None = None
    pole_name: str = ""
    organising_body_id: int | None = None
    organising_body_name: str = ""

    @property
    def scope_label(self) -> str:
        """What the person acts for, in words."""
        if self.establishment_id:
            return f"{self.establishment_name} ({self.establishment_code})" if self.establishment_code else self.establishment_name
        if self.pole_id:
            return self.pole_name if self.pole_name.lower().startswith("pôle") else f"Pôle {self.pole_name}"
        if self.organising_body_id:
            return f"PO {self.organising_body_name}"
        return "Fédération Wallonie-Bruxelles"

    @property
    def label(self) -> str:
        """Profile and scope, as the header shows it."""
        return f"{self.profile.label} — {self.scope_label}"


@dataclass
class CurrentUser:
    """The authenticated person of a request."""

    account_id: int
    session_id: int
    username: str
    first_name: str
    last_name: str
    email: str
    help_enabled: bool
    version: int
    affiliations: list[AffiliationView] = field(default_factory=list)
    active: AffiliationView | None = None
    message_stamp: int | None = None  # the messages' change counter when the request began (None: not read)
    # the UAA change counter of the establishment acted for when the request began (None: not read; 0: no change
    # counted yet, as portal.uaa.stamps.school_stamp says)
    uaa_stamp: int | None = None
    board_stamp: int | None = None  # the dashboards' board blocks' change counter (None: not read)

    @property
    def full_name(self) -> str:
        """First name and name."""
        return f"{self.first_name} {self.last_name}"

    @property
    def profile(self) -> Profile | None:
        """The profile acted as, if chosen."""
        return self.active.profile if self.active else None

    def can(self, action: str) -> bool:
        """True when the profile acted as may perform ``action`` (scope is the services' business)."""
        return allowed(self.profile, action)

    @property
    def actor(self) -> Actor:
        """This person as the author of history events."""
        active = self.active
        return Actor(
            account_id=self.account_id,
            username=self.username,
            profile=str(active.profile) if active else "",
            establishment_id=active.establishment_id if active else None,
            pole_id=active.pole_id if active else None,
        )
