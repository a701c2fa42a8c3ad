"""The named scenarios of the load runner and the accounts they sign in with. No database, no settings here.

A later module adds its own scenarios (e.g. ``uaa-encode``) to :data:`SCENARIOS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.accounts.rules import base_username
from portal.permissions import Profile

DASHBOARD_P95_TARGET_MS = 30.0
LEARNER_LIST_P95_TARGET_MS = 20.0
SEARCH_P95_TARGET_MS = 40.0
SAVE_P95_TARGET_MS = 25.0
SAVE_MIN_RATIO = 0.5  # a row save serves at least half the baseline's requests/s
GRID_P95_TARGET_MS = 60.0
CELL_P95_TARGET_MS = 20.0

#: The accounts the scenarios sign in with; ``bench.seed`` creates them with this password (hashed once).
BENCH_PASSWORD = "Bench-Portail-2026"
BENCH_PEOPLE: dict[Profile, tuple[str, str]] = {
    Profile.TEACHER: ("Bench", "Enseignant"),
    Profile.LEARNER: ("Bench", "Apprenant"),
    Profile.DIRECTION: ("Bench", "Direction"),
    Profile.SCHOOL_ADMIN: ("Bench", "Gestion"),
    Profile.DDFTP: ("Bench", "Ddftp"),
    Profile.COORDINATOR: ("Bench", "Coordination"),
    Profile.DELEGUE_PO: ("Bench", "Delegue"),
    Profile.ADMINISTRATION: ("Bench", "Administration"),
}
BENCH_USERNAMES: dict[Profile, str] = {p: base_username(first, last) for p, (first, last) in BENCH_PEOPLE.items()}


@dataclass(frozen=True)
class Scenario:
    """One request repeated under load, as one benchmark account."""

    name: str
    path: str
    profile: Profile  # the benchmark account (bench.seed.BENCH_USERNAMES) that signs in
    expect: str  # text the answer must contain (checked before and after the load)
    method: str = "GET"
    body: str = ""
    content_type: str = ""
    sessions: int = 1  # distinct sessions the requests rotate over (0: one per connection)
    target_p95_ms: float | None = None
    min_ratio: float | None = None  # requests/s the scenario must reach, as a share of the baseline's
    chain: str = ""  # "uaa" / "grid": each answer names the next row or cell to save (bench/run.py *CHAIN_LUA)
    description: str = ""


BASELINE = Scenario(
    name="baseline", path="/bench/baseline", profile=Profile.TEACHER, method="POST", expect='id="bench-baseline"',
    sessions=0, description="POST /bench/baseline : session (2 requêtes) + 1 UPDATE + fragment minuscule",
)

SCENARIOS: list[Scenario] = [
    BASELINE,
    Scenario(name="dashboard-teacher", path="/tableau-de-bord", profile=Profile.TEACHER, expect="Tableau de bord",
             target_p95_ms=DASHBOARD_P95_TARGET_MS, description="tableau de bord, enseignant (la plus grande école)"),
    Scenario(name="dashboard-direction", path="/tableau-de-bord", profile=Profile.DIRECTION,
             expect="Tableau de bord", target_p95_ms=DASHBOARD_P95_TARGET_MS,
             description="tableau de bord, direction d'une école siège membre d'autres pôles"),
    Scenario(name="dashboard-administration", path="/tableau-de-bord", profile=Profile.ADMINISTRATION,
             expect="Tableau de bord", target_p95_ms=DASHBOARD_P95_TARGET_MS,
             description="tableau de bord, Administration (compteurs sur toute la base)"),
    Scenario(name="dashboard-coordinator", path="/tableau-de-bord", profile=Profile.COORDINATOR,
             expect="Tableau de bord", target_p95_ms=DASHBOARD_P95_TARGET_MS,
             description="tableau de bord, coordonnateur du plus grand pôle"),
    Scenario(name="dashboard-learner", path="/tableau-de-bord", profile=Profile.LEARNER, expect="Tableau de bord",
             target_p95_ms=DASHBOARD_P95_TARGET_MS, description="tableau de bord, apprenant"),
    Scenario(name="dashboard-school-admin", path="/tableau-de-bord", profile=Profile.SCHOOL_ADMIN,
             expect="Tableau de bord", target_p95_ms=DASHBOARD_P95_TARGET_MS,
             description="tableau de bord, administrateur d'établissement"),
    Scenario(name="dashboard-ddftp", path="/tableau-de-bord", profile=Profile.DDFTP, expect="Tableau de bord",
             target_p95_ms=DASHBOARD_P95_TARGET_MS, description="tableau de bord, DDFTP"),
    Scenario(name="dashboard-delegue", path="/tableau-de-bord", profile=Profile.DELEGUE_PO, expect="Tableau de bord",
             target_p95_ms=DASHBOARD_P95_TARGET_MS, description="tableau de bord, délégué PO"),
    # UAA validation. ``{learner}`` and ``{attestation}`` are resolved by the runner over HTTP as the account
    # (the first learner of the search, the first Réussite's attestation, issued before the load).
    Scenario(name="uaa-learner-list", path="/uaa/eleves/{learner}", profile=Profile.TEACHER,
             expect="UAA pour l'élève", target_p95_ms=LEARNER_LIST_P95_TARGET_MS,
             description="liste des UAA d'un élève (enseignant)"),
    Scenario(name="uaa-search", path="/uaa/recherche?q=bench&tri=nom&page=3", profile=Profile.TEACHER,
             expect="Recherche", target_p95_ms=SEARCH_P95_TARGET_MS,
             description="recherche d'élèves, 3e page d'un filtre texte, dans la plus grande école"),
    # Encoding under load: each request saves an Echec (today) on a pending row of a learner of the teacher's
    # school, as htmx does; the answer holds the new pending row, which a later request saves in turn.
    Scenario(name="uaa-save", path="/uaa/tentatives/{attempt}", profile=Profile.TEACHER, method="POST",
             expect="tentative-", sessions=0, chain="uaa", target_p95_ms=SAVE_P95_TARGET_MS,
             min_ratio=SAVE_MIN_RATIO, description="enregistrer une ligne (Echec → nouvelle ligne à encoder), htmx"),
    # Competency grid of 30 learners × 25 competencies (bench/seed_competencies.py), as the bench teacher.
    Scenario(name="grid-page", path="/competences/evaluations/{evaluation}", profile=Profile.TEACHER,
             expect='class="grid"', target_p95_ms=GRID_P95_TARGET_MS,
             description="grille d'évaluation 30 × 25 (enseignant)"),
    Scenario(name="grid-cell", path="/competences/evaluations/{evaluation}", profile=Profile.TEACHER,
             method="POST", expect='class="grid"', sessions=0, chain="grid", target_p95_ms=CELL_P95_TARGET_MS,
             min_ratio=SAVE_MIN_RATIO, description="enregistrer une cellule de la grille (htmx), niveau changé"),
    Scenario(name="uaa-attestation", path="/uaa/attestations/tentative/{attestation}", profile=Profile.TEACHER,
             expect="%PDF", description="attestation déjà délivrée, servie telle que stockée"),
]


def by_name(names: list[str] | None) -> list[Scenario]:
    """The scenarios asked for, the baseline always first (every figure is quoted against it)."""
    if not names:
        return list(SCENARIOS)
    known = {s.name: s for s in SCENARIOS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"Scénario inconnu : {', '.join(unknown)} (connus : {', '.join(known)})")
    return [BASELINE] + [known[n] for n in names if n != BASELINE.name]
