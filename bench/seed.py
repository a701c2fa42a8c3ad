"""The benchmark dataset: ``portal seed --size large`` (or ``small`` for tests). EVERYTHING HERE IS INVENTED.

Names of zones, organising bodies, establishments, poles and messages carry "(bench)"; people get e-mail addresses
under ``bench.invalid``; FASE numbers are in the 97xxx range and UAI numbers in the non-existent department 999.
A fixed random seed makes two runs produce the same rows (ids may differ between engines).

Run it on an empty, migrated database (``portal migrate`` first). Rows are built in memory and inserted in
batches (multi-row INSERT statements) inside one transaction, so that ``large`` (about 37,000 accounts) takes
seconds, not minutes.

Later modules add their own rows (the UAA attempts, for instance) with a generator::

    from bench.seed import SeedContext, register

    @register("uaa")
    async def seed_uaa(ctx: SeedContext) -> dict[str, int]:
        ...  # use ctx.rng, ctx.size.uaa_attempts, ctx.learners_by_establishment, ctx.insert(...)
        return {"uaa_attempt": n}

and list their module in :data:`EXTENSIONS` so that :func:`seed` imports it.
"""

from __future__ import annotations

import importlib
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from piccolo.columns import JSON, JSONB
from piccolo.utils.sql_values import convert_to_sql_value

from portal.accounts import rules
from portal.accounts.passwords import hash_password
from portal.accounts.tables import AccessRequest, Account, Affiliation
from portal.core.clock import now
from portal.core.db import atomic
from portal.directory.tables import Establishment, Implantation, OrganisingBody, Pole, PoleSchool, Zone
from portal.history.tables import HistoryEvent
from portal.messaging.tables import Message, OutboxMail
from portal.permissions import Profile

from bench.scenarios import BENCH_PASSWORD, BENCH_PEOPLE, BENCH_USERNAMES  # noqa: F401 - re-exported

RANDOM_SEED = 20261123
CHUNK = 1000
MAX_PARAMS = 30000  # below SQLite's 32,766 and asyncpg's 32,767 bind parameters per statement
EMAIL_DOMAIN = "bench.invalid"


@dataclass(frozen=True)
class Size:
    """How many of each: ``large`` is the issue's realistic volume, ``small`` a quick one for tests."""

    organising_bodies: int
    be_establishments: int
    fr_schools: int
    poles: int
    be_learners: int
    fr_learners: int
    teachers: int
    administration: int
    applicative_messages: int
    targeted_messages: int
    history_events: int
    access_requests: int
    uaa_attempts: int  # used by the UAA generator once the UAA tables exist


SIZES: dict[str, Size] = {
    "large": Size(organising_bodies=40, be_establishments=50, fr_schools=30, poles=48, be_learners=20_000,
                  fr_learners=15_000, teachers=1_500, administration=6, applicative_messages=20,
                  targeted_messages=180, history_events=5_000, access_requests=300, uaa_attempts=300_000),
    "small": Size(organising_bodies=4, be_establishments=6, fr_schools=3, poles=4, be_learners=120, fr_learners=60,
                  teachers=30, administration=2, applicative_messages=4, targeted_messages=16, history_events=40,
                  access_requests=12, uaa_attempts=600),
}

#: Modules imported by :func:`seed` before generating, so that their ``@register`` generators run (e.g. UAA).
EXTENSIONS: list[str] = ["bench.seed_uaa", "bench.seed_competencies"]

# --- invented but plausible names -----------------------------------------------------------------------------

FIRST_NAMES = (
    "Emma Louise Olivia Alice Léa Mila Juliette Chloé Lina Camille Clara Inès Zoé Nina Manon Sarah Lucie Jade Eva "
    "Charlotte Julie Margaux Elise Anaïs Noémie Laura Pauline Marie Hélène Sophie Nathalie Isabelle Valérie "
    "Céline Aurélie Élodie Anne-Sophie Marie-Claire "
    "Lucas Louis Noah Arthur Jules Adam Victor Liam Gabriel Hugo Nathan Théo Tom Maxime Antoine Thomas Nicolas "
    "Julien Romain Mathis Baptiste Simon Martin Alexandre Quentin Benoît Olivier Pierre Marc Luc Christophe "
    "Philippe Didier Laurent Sébastien Mehdi Yassine Ilias Jean-François Pierre-Yves"
).split()
LAST_NAMES = (
    "Peeters Janssens Maes Jacobs Mertens Willems Claes Goossens Wouters Dubois Lambert Dupont Martin Simon "
    "Laurent Leclercq Lejeune Renard Lemaire Collignon Gilson Thiry Henrard Delvaux François Hermans Lambrechts "
    "Michel Denis Dumont Leroy Petit Moreau Fontaine Girard Bernard Roux Garnier Durand Lefebvre Mercier Rousseau "
    "Vincent Fournier Morel Chevalier Robert Richard Gauthier Perrin Masson Blanc Guerin Muller Henry Roussel "
    "Nicolas Boyer Leblanc Noël Meunier Marchal Charlier Lecomte Hubert Pirard Wauters Delhaye Mathieu Bastin "
    "Evrard Collard Jacquet Piette Louis Bodart Bertrand Gérard Dethier Haesen Hendrickx Cornet Gillet Remy "
    "El Amrani Benali Yilmaz Rossi Esposito Van den Broeck De Smet Vandenberghe Van Damme Nguyen"
).split()
# A few compound family names (the rule of login names folds the parts together).
LAST_NAMES += ["Van den Broeck", "De Smet", "El Amrani", "Van Damme", "Dos Santos", "Da Silva"]

BE_ZONES: dict[str, tuple[str, ...]] = {
    "Bruxelles-Capitale": ("Bruxelles", "Anderlecht", "Schaerbeek", "Ixelles", "Molenbeek"),
    "Brabant wallon": ("Wavre", "Nivelles", "Ottignies", "Tubize"),
    "Huy-Waremme": ("Huy", "Waremme", "Hannut", "Amay"),
    "Liège": ("Liège", "Seraing", "Herstal", "Ans"),
    "Verviers": ("Verviers", "Eupen", "Spa", "Dison"),
    "Namur": ("Namur", "Dinant", "Andenne", "Gembloux"),
    "Luxembourg": ("Arlon", "Marche-en-Famenne", "Bastogne", "Virton"),
    "Hainaut Centre": ("Mons", "La Louvière", "Binche", "Soignies"),
    "Hainaut Sud": ("Charleroi", "Thuin", "Chimay", "Fleurus"),
    "Wallonie picarde": ("Tournai", "Mouscron", "Ath", "Péruwelz"),
}
FR_ACADEMIES: dict[str, tuple[str, ...]] = {
    "Académie de Lille": ("Lille", "Roubaix", "Valenciennes", "Dunkerque"),
    "Académie de Reims": ("Reims", "Charleville-Mézières", "Troyes"),
    "Académie de Nancy-Metz": ("Nancy", "Metz", "Thionville", "Épinal"),
    "Académie d'Amiens": ("Amiens", "Saint-Quentin", "Beauvais"),
    "Académie de Dijon": ("Dijon", "Chalon-sur-Saône", "Auxerre"),
}
BE_SCHOOL_TYPES = ("Institut technique", "Athénée royal", "Institut provincial", "Collège technique",
                   "École professionnelle", "Institut d'enseignement spécialisé", "Centre scolaire")
PATRONS = ("Saint-Luc", "Sainte-Marie", "des Arts et Métiers", "Jean Jaurès", "Don Bosco", "de la Providence",
           "Émile Vandervelde", "du Sacré-Cœur", "Saint-Joseph", "Marie Curie", "Léonard de Vinci", "des Ursulines",
           "Notre-Dame", "Jean Rey", "Paul Pastur", "Saint-Laurent")
FR_PATRONS = ("Gustave-Eiffel", "Jules-Ferry", "Louise-Michel", "Jean-Moulin", "Marie-Curie", "Victor-Hugo",
              "Jean-Jaurès", "Pierre-Mendès-France", "Camille-Claudel", "Antoine-de-Saint-Exupéry")
NETWORKS = ("Officiel subventionné", "Libre confessionnel", "Libre non confessionnel", "Organisé par la FWB")
STAFF_FUNCTIONS = {Profile.TEACHER: "Enseignant", Profile.DIRECTION: "Directeur",
                   Profile.SCHOOL_ADMIN: "Éducateur économe"}
HISTORY_ACTIONS = ("connexion", "choix du profil", "mot de passe changé", "courriel changé", "aide contextuelle")


# --- the context handed to generators ---------------------------------------------------------------------------


@dataclass
class SeedContext:
    """What the base set made, for the generators of later modules."""

    size: Size
    rng: random.Random
    started: datetime
    password_hash: str
    zones: dict[str, int] = field(default_factory=dict)
    organising_bodies: list[int] = field(default_factory=list)
    #: one dict per establishment: id, country, code, name, kind, organising_body, zone, learners
    establishments: list[dict] = field(default_factory=list)
    #: one dict per pole: id, name, seat, schools (list of (establishment id, role))
    poles: list[dict] = field(default_factory=list)
    learners_by_establishment: dict[int, list[int]] = field(default_factory=dict)
    teachers_by_establishment: dict[int, list[int]] = field(default_factory=dict)
    accounts: dict[str, int] = field(default_factory=dict)  # username → id
    #: profile → {"establishment" | "pole" | "organising_body": id} of each benchmark account
    bench_scope: dict[Profile, dict] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def moment(self, days_back: int = 730) -> datetime:
        """A random instant within the last ``days_back`` days."""
        return self.started - timedelta(seconds=self.rng.randint(60, days_back * 86400))

    async def insert(self, table, rows: list[dict]) -> int:
        """Insert dicts of column values in batches (one multi-row INSERT per batch); returns how many.

        The same statement as ``table.insert(*instances)``, built from plain values: making 80,000 Piccolo
        ``Table`` instances costs more CPU than the database spends storing them. JSON values go through
        Piccolo's conversion, every statement through its placeholders (``?`` on SQLite, ``$n`` on PostgreSQL); a
        column absent from a row takes the column's default.
        """
        if not rows:
            return 0
        columns = [c for c in table._meta.columns if not c._meta.primary_key]
        names = [c._meta.name for c in columns]
        unknown = set().union(*rows) - set(names)
        if unknown:
            raise ValueError(f"{table.__name__}: colonnes inconnues {sorted(unknown)}")
        defaults = {c._meta.name: c.get_default_value() for c in columns}
        # plain values (str, int, bool, datetime, None) go as they are; JSON columns need Piccolo's conversion
        convert = any(isinstance(c, (JSON, JSONB)) for c in columns)
        quoted = ", ".join('"' + c._meta.db_column_name + '"' for c in columns)
        head = f'INSERT INTO "{table._meta.tablename}" ({quoted}) VALUES '
        one = "(" + ", ".join("{}" for _ in columns) + ")"
        per_chunk = max(1, min(CHUNK, MAX_PARAMS // len(columns)))
        for start in range(0, len(rows), per_chunk):
            chunk = rows[start:start + per_chunk]
            values = [row.get(name, defaults[name]) for row in chunk for name in names]
            if convert:
                values = [convert_to_sql_value(value, column) for value, column in zip(values, columns * len(chunk))]
            await table.raw(head + ", ".join([one] * len(chunk)), *values)
        name = table._meta.tablename
        self.counts[name] = self.counts.get(name, 0) + len(rows)
        return len(rows)


Generator = Callable[[SeedContext], Awaitable[dict[str, int] | None]]
GENERATORS: list[tuple[str, Generator]] = []


def register(name: str) -> Callable[[Generator], Generator]:
    """Add a generator that runs after the base set (in the same transaction)."""

    def decorator(function: Generator) -> Generator:
        GENERATORS.append((name, function))
        return function

    return decorator


class SeedRefused(RuntimeError):
    """The database is not an empty migrated one."""


# --- login names computed in memory ------------------------------------------------------------------------------


class Usernames:
    """:func:`portal.accounts.rules.unique_username` without a query per row and without copying every name.

    Names are grouped by their letters (trailing digits removed); every candidate the rule may try for a base is
    the base itself or a truncation of it plus digits, so only a few groups are handed to the rule.
    """

    DIGITS = "0123456789"

    def __init__(self) -> None:
        self._groups: dict[str, set[str]] = {}

    def _key(self, name: str) -> str:
        return name.rstrip(self.DIGITS)

    def add(self, name: str) -> None:
        self._groups.setdefault(self._key(name), set()).add(name)

    def __contains__(self, name: str) -> bool:
        return name in self._groups.get(self._key(name), ())

    def new(self, first_name: str, last_name: str) -> str:
        base = rules.base_username(first_name, last_name)
        keys = {self._key(base)} | {
            self._key(base[: rules.USERNAME_MAX - width].rstrip(".")) for width in range(1, 7)
        }
        relevant: set[str] = set()
        for key in keys:
            relevant |= self._groups.get(key, set())
        name = rules.unique_username(first_name, last_name, relevant)
        self.add(name)
        return name


# --- the generator of the base set ------------------------------------------------------------------------------


def _spread(total: int, buckets: int, rng: random.Random) -> list[int]:
    """Split ``total`` over ``buckets`` unevenly (a few large schools, many middle-sized ones), exactly."""
    if buckets <= 0:
        return []
    weights = [rng.uniform(0.35, 1.8) for _ in range(buckets)]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    for i in range(total - sum(counts)):
        counts[i % buckets] += 1
    return counts


def _city(establishment_name: str) -> str:
    """The city in "… de <city> (bench nn)"."""
    return establishment_name.rsplit(" de ", 1)[-1].split(" (")[0]


def _person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


async def _directory(ctx: SeedContext) -> None:
    rng, size = ctx.rng, ctx.size
    zone_rows = [{"name": f"{name} (bench)", "country": "BE"} for name in BE_ZONES]
    zone_rows += [{"name": f"{name} (bench)", "country": "FR"} for name in FR_ACADEMIES]
    await ctx.insert(Zone, zone_rows)
    ctx.zones = {r["name"]: r["id"] for r in await Zone.select(Zone.id, Zone.name).where(Zone.name.like("%(bench)"))}

    po_rows = []
    for i in range(size.organising_bodies):
        network = NETWORKS[i % len(NETWORKS)]
        zone = list(BE_ZONES)[i % len(BE_ZONES)]
        city = BE_ZONES[zone][(i // len(BE_ZONES)) % len(BE_ZONES[zone])]
        if network == "Officiel subventionné":
            name = f"Ville de {city}" if i % 3 else f"Province — zone {zone}"
        elif network == "Organisé par la FWB":
            name = f"WBE — zone {zone}"
        else:
            name = f"ASBL Enseignement {'libre' if network.startswith('Libre c') else 'pluraliste'} de {city}"
        po_rows.append({"fase": f"97{i + 1:03d}", "name": f"PO (bench) n° {i + 1} — {name}", "network": network})
    await ctx.insert(OrganisingBody, po_rows)
    fase_to_po = {r["fase"]: r["id"] for r in await OrganisingBody.select(OrganisingBody.id, OrganisingBody.fase)
                  .where(OrganisingBody.fase.like("97%"))}
    ctx.organising_bodies = [fase_to_po[r["fase"]] for r in po_rows]

    be_counts = _spread(size.be_learners, size.be_establishments, rng)
    fr_counts = _spread(size.fr_learners, size.fr_schools, rng)
    est_rows, meta = [], []
    for i in range(size.be_establishments):
        zone = rng.choice(list(BE_ZONES))
        city = rng.choice(BE_ZONES[zone])
        # the first `poles` schools are the seats: specialised education, as in the FWB
        kind = "spécialisé" if i < size.poles or rng.random() < 0.2 else "ordinaire"
        school_type = "Institut d'enseignement spécialisé" if kind == "spécialisé" and rng.random() < 0.5 \
            else rng.choice(BE_SCHOOL_TYPES)
        fase = f"97{101 + i:03d}"
        name = f"{school_type} {rng.choice(PATRONS)} de {city} (bench {i + 1:02d})"
        po = rng.choice(ctx.organising_bodies)
        est_rows.append({"country": "BE", "fase": fase, "name": name, "kind": kind, "city": city,
                         "organising_body": po, "zone": ctx.zones[f"{zone} (bench)"], "demo": True})
        meta.append({"country": "BE", "code": fase, "name": name, "kind": kind, "organising_body": po,
                     "zone": ctx.zones[f"{zone} (bench)"], "learners": be_counts[i]})
    for i in range(size.fr_schools):
        academy = rng.choice(list(FR_ACADEMIES))
        city = rng.choice(FR_ACADEMIES[academy])
        uai = f"999{i + 1:04d}{'ABCDEFGHJKLMNPRSTUVWXYZ'[i % 23]}"
        name = f"Lycée professionnel {rng.choice(FR_PATRONS)} de {city} (bench {i + 1:02d})"
        est_rows.append({"country": "FR", "uai": uai, "name": name, "kind": "lycée professionnel", "city": city,
                         "zone": ctx.zones[f"{academy} (bench)"], "demo": True})
        meta.append({"country": "FR", "code": uai, "name": name, "kind": "lycée professionnel",
                     "organising_body": None, "zone": ctx.zones[f"{academy} (bench)"], "learners": fr_counts[i]})
    await ctx.insert(Establishment, est_rows)
    by_code = {}
    for r in await Establishment.select(Establishment.id, Establishment.fase, Establishment.uai).where(
            Establishment.name.like("%(bench %")):
        by_code[r["fase"] or r["uai"]] = r["id"]
    for m in meta:
        m["id"] = by_code[m["code"]]
    ctx.establishments = meta

    implantations = []
    for m in meta:
        if m["country"] != "BE":
            continue
        for k in range(1, rng.choice((1, 1, 2, 2, 3)) + 1):
            label = "implantation principale" if k == 1 else f"implantation {k}"
            implantations.append({"establishment": m["id"], "fase": f"{m['code']}{k}",
                                  "name": f"{m['name']} — {label}", "address": f"rue de l'École {rng.randint(1, 180)}",
                                  "postcode": str(rng.randint(1000, 6999)), "city": _city(m["name"])})
    await ctx.insert(Implantation, implantations)

    be = [m for m in meta if m["country"] == "BE"]
    pole_rows, pole_meta = [], []
    roles = ("partenaire", "partenaire", "partenaire_specifique", "cooperante", "cooperante")
    for i in range(size.poles):
        seat = be[i % len(be)]
        others = [m for m in be if m is not seat]
        count = min(len(others), rng.randint(3, 8))
        schools = [(m["id"], rng.choice(roles)) for m in rng.sample(others, count)]
        name = f"Pôle territorial (bench {i + 1:02d}) de {_city(seat['name'])}"
        pole_rows.append({"name": name, "seat": seat["id"], "demo": True})
        pole_meta.append({"name": name, "seat": seat["id"], "schools": schools})
    await ctx.insert(Pole, pole_rows)
    by_name = {r["name"]: r["id"] for r in await Pole.select(Pole.id, Pole.name).where(Pole.name.like("%(bench %"))}
    school_rows = []
    for p in pole_meta:
        p["id"] = by_name[p["name"]]
        school_rows += [{"pole": p["id"], "establishment": e, "role": role, "position": n + 1}
                        for n, (e, role) in enumerate(p["schools"])]
    await ctx.insert(PoleSchool, school_rows)
    ctx.poles = pole_meta


async def _people(ctx: SeedContext) -> None:
    rng, size, started = ctx.rng, ctx.size, ctx.started
    names = Usernames()
    accounts: list[dict] = []
    affiliations: list[tuple[str, str, dict]] = []  # username, profile, scope

    def account(first: str, last: str, *, learner: bool = False, username: str | None = None) -> str:
        login = username or names.new(first, last)
        if username:
            names.add(username)
        accounts.append({
            "username": login, "first_name": first, "last_name": last,
            "email": "" if learner else f"{login}@{EMAIL_DOMAIN}",
            "password_hash": None if learner else ctx.password_hash,
            "origin": "import" if learner else ("import" if rng.random() < 0.3 else "manual"),
            "created_at": ctx.moment(),
        })
        return login

    def affiliate(login: str, profile: Profile, **scope: int) -> None:
        affiliations.append((login, profile.value, scope))

    be = [m for m in ctx.establishments if m["country"] == "BE"]
    fr = [m for m in ctx.establishments if m["country"] == "FR"]
    biggest_be = max(be, key=lambda m: m["learners"])
    biggest_fr = max(fr, key=lambda m: m["learners"])
    # the direction measured: a seat school that is also a member of the most other poles
    memberships = {m["id"]: 0 for m in be}
    for p in ctx.poles:
        for e, _role in p["schools"]:
            memberships[e] += 1
    seats = {p["seat"] for p in ctx.poles}
    bench_direction_school = max(be, key=lambda m: (m["id"] in seats, memberships[m["id"]], m["learners"]))
    bench_pole = max(ctx.poles, key=lambda p: len(p["schools"]))
    po_sizes: dict[int, int] = {}
    for m in be:
        po_sizes[m["organising_body"]] = po_sizes.get(m["organising_body"], 0) + 1
    bench_po = max(po_sizes, key=lambda po: po_sizes[po])

    # the benchmark's own accounts first, so that their names are exactly BENCH_USERNAMES
    bench_scopes = {
        Profile.TEACHER: {"establishment": biggest_be["id"]},
        Profile.LEARNER: {"establishment": biggest_be["id"]},
        Profile.DIRECTION: {"establishment": bench_direction_school["id"]},
        Profile.SCHOOL_ADMIN: {"establishment": biggest_be["id"]},
        Profile.DDFTP: {"establishment": biggest_fr["id"]},
        Profile.COORDINATOR: {"pole": bench_pole["id"]},
        Profile.DELEGUE_PO: {"organising_body": bench_po},
        Profile.ADMINISTRATION: {},
    }
    for profile, (first, last) in BENCH_PEOPLE.items():
        login = account(first, last, username=BENCH_USERNAMES[profile])
        accounts[-1]["password_hash"] = ctx.password_hash  # the bench learner can sign in, unlike imported ones
        accounts[-1]["origin"] = "manual"
        affiliate(login, profile, **bench_scopes[profile])
    ctx.bench_scope = bench_scopes

    learners: dict[int, list[str]] = {}
    for m in ctx.establishments:
        learners[m["id"]] = [account(*_person(rng), learner=True) for _ in range(m["learners"])]
        for login in learners[m["id"]]:
            affiliate(login, Profile.LEARNER, establishment=m["id"])

    teachers: dict[int, list[str]] = {}
    total_learners = sum(m["learners"] for m in ctx.establishments) or 1
    # about one teacher for 23 learners: proportional to the size of the school, at least one
    per_school = [max(1, round(size.teachers * m["learners"] / total_learners)) for m in ctx.establishments]
    for m, n in zip(ctx.establishments, per_school):
        teachers[m["id"]] = [account(*_person(rng)) for _ in range(n)]
        for login in teachers[m["id"]]:
            affiliate(login, Profile.TEACHER, establishment=m["id"])
    # a few teachers also teach in a second school of the same country
    all_teachers = [(e, t) for e, ts in teachers.items() for t in ts]
    for e, login in rng.sample(all_teachers, max(1, len(all_teachers) // 33)):
        country = next(m["country"] for m in ctx.establishments if m["id"] == e)
        other = rng.choice([m for m in ctx.establishments if m["country"] == country and m["id"] != e])
        affiliate(login, Profile.TEACHER, establishment=other["id"])

    for m in ctx.establishments:
        for _ in range(2 if rng.random() < 0.2 else 1):
            affiliate(account(*_person(rng)), Profile.DIRECTION, establishment=m["id"])
        for _ in range(2 if rng.random() < 0.15 else 1):
            affiliate(account(*_person(rng)), Profile.SCHOOL_ADMIN, establishment=m["id"])
        if m["country"] == "FR":
            affiliate(account(*_person(rng)), Profile.DDFTP, establishment=m["id"])
    for p in ctx.poles:
        affiliate(account(*_person(rng)), Profile.COORDINATOR, pole=p["id"])
    for po in ctx.organising_bodies:
        affiliate(account(*_person(rng)), Profile.DELEGUE_PO, organising_body=po)
    for _ in range(size.administration):
        affiliate(account(*_person(rng)), Profile.ADMINISTRATION)

    await ctx.insert(Account, accounts)
    ctx.accounts = {r["username"]: r["id"] for r in await Account.select(Account.id, Account.username)}
    affiliation_rows = []
    for login, profile, scope in affiliations:
        granted = ctx.moment(700)
        revoked = (rng.random() < 0.01 and profile != Profile.ADMINISTRATION.value
                   and login not in BENCH_USERNAMES.values())
        affiliation_rows.append({"account": ctx.accounts[login], "profile": profile, "granted_at": granted,
                                 "revoked_at": granted + timedelta(days=rng.randint(1, 300)) if revoked else None,
                                 **scope})
    await ctx.insert(Affiliation, affiliation_rows)
    ctx.learners_by_establishment = {e: [ctx.accounts[u] for u in us] for e, us in learners.items()}
    ctx.teachers_by_establishment = {e: [ctx.accounts[u] for u in us] for e, us in teachers.items()}


async def _messages_and_history(ctx: SeedContext) -> None:
    rng, size = ctx.rng, ctx.size
    topics = ("Encodage des UAA", "Réunion de coordination", "Conventions de pôle", "Calendrier des épreuves",
              "Stages en entreprise", "Formation des enseignants", "Mise à jour du portail", "Inscriptions",
              "Épreuves de qualification", "Aménagements raisonnables")
    body = ("Message de mesure (bench) : contenu inventé pour remplir les tableaux de bord. "
            "Les résultats des épreuves sont à encoder avant la fin de la période. ") * 2
    admins = [ctx.accounts[u] for u in (BENCH_USERNAMES[Profile.ADMINISTRATION],)]
    messages = [{"kind": "applicatif", "subject": f"{rng.choice(topics)} (bench {i + 1})", "body": body,
                 "author": admins[0], "created_at": ctx.moment(365), "demo": True}
                for i in range(size.applicative_messages)]
    # the scopes the runner measures get a full "mes messages" box; the rest are spread at random
    targets = [("establishment", s["establishment"]) for s in ctx.bench_scope.values() if "establishment" in s]
    targets += [("pole", s["pole"]) for s in ctx.bench_scope.values() if "pole" in s]
    targets = sorted(set(targets))
    per_target = min(12, max(1, size.targeted_messages // (2 * max(1, len(targets)))))
    planned = [t for t in targets for _ in range(per_target)]
    while len(planned) < size.targeted_messages:
        if rng.random() < 0.6:
            planned.append(("establishment", rng.choice(ctx.establishments)["id"]))
        else:
            planned.append(("pole", rng.choice(ctx.poles)["id"]))
    for i, (column, ident) in enumerate(planned[: size.targeted_messages]):
        messages.append({"kind": "cible", "subject": f"{rng.choice(topics)} (bench {i + 1})", "body": body,
                         "author": admins[0], column: ident, "created_at": ctx.moment(365), "demo": True})
    await ctx.insert(Message, messages)

    # access requests: most decided, some pending, a few on the scopes the runner measures
    people = list(ctx.accounts.items())
    requests = []
    decided_by = admins[0]
    staff_profiles = (Profile.TEACHER, Profile.DIRECTION, Profile.SCHOOL_ADMIN)
    bench_targets = [("establishment", ctx.bench_scope[Profile.DIRECTION]["establishment"]),
                     ("establishment", ctx.bench_scope[Profile.SCHOOL_ADMIN]["establishment"]),
                     ("organising_body", ctx.bench_scope[Profile.DELEGUE_PO]["organising_body"])]
    for i in range(size.access_requests):
        first, last = _person(rng)
        profile = rng.choice(staff_profiles)
        if i < 3 * min(5, max(1, size.access_requests // 10)):
            column, ident = bench_targets[i % 3]
            establishment = ident if column == "establishment" else None
            po = ident if column == "organising_body" else None
        else:
            school = rng.choice(ctx.establishments)
            establishment, po = school["id"], school["organising_body"]
        pending = i < 3 * min(5, max(1, size.access_requests // 10)) or rng.random() < 0.3
        status = "pending" if pending else rng.choice(("approved", "approved", "refused"))
        created = ctx.moment(200)
        requests.append({
            "first_name": first, "last_name": last, "email": f"demande{i + 1}@{EMAIL_DOMAIN}",
            "function": STAFF_FUNCTIONS[profile], "profile": profile.value, "establishment": establishment,
            "organising_body": po, "motivation": "Demande de mesure (bench).", "status": status,
            "decided_by": None if pending else decided_by,
            "decided_at": None if pending else created + timedelta(days=rng.randint(1, 10)),
            "created_at": created,
        })
    await ctx.insert(AccessRequest, requests)

    # activation e-mails of the staff accounts (learners wait for their school to send theirs)
    outbox = []
    establishment_of = {}
    for e, ids in ctx.teachers_by_establishment.items():
        for a in ids:
            establishment_of[a] = e
    for username, ident in people:
        if ident not in establishment_of:
            continue
        created = ctx.moment(365)
        outbox.append({"recipient": f"{username}@{EMAIL_DOMAIN}", "subject": "Activez votre compte (bench)",
                       "body": "Lien d'activation inventé (bench).", "establishment": establishment_of[ident],
                       "created_at": created, "sent_at": created if rng.random() < 0.9 else None})
    await ctx.insert(OutboxMail, outbox)

    events = []
    for m in ctx.establishments:
        events.append({"at": ctx.moment(400), "actor_id": None, "actor_username": "système", "profile": "",
                       "establishment_id": m["id"], "entity": "establishment", "entity_id": m["id"],
                       "action": "import des apprenants", "summary": f"{m['learners']} apprenants importés (bench)",
                       "before": None, "after": {"apprenants": m["learners"]}})
    staff = [(u, i) for u, i in people if i in establishment_of]
    for _ in range(max(0, size.history_events - len(events))):
        username, ident = rng.choice(staff)
        action = rng.choice(HISTORY_ACTIONS)
        events.append({"at": ctx.moment(120), "actor_id": ident, "actor_username": username[:20],
                       "profile": Profile.TEACHER.value, "establishment_id": establishment_of[ident],
                       "entity": "account", "entity_id": ident, "action": action,
                       "summary": f"{action.capitalize()} (bench)", "before": None, "after": None})
    events.sort(key=lambda e: e["at"])
    await ctx.insert(HistoryEvent, events)


async def _refuse_unless_empty() -> None:
    try:
        exists = await Account.exists()
    except Exception as error:  # noqa: BLE001 - a missing table means the migrations did not run
        raise SeedRefused(f"La base n'est pas migrée ({error}). Lancez d'abord : portal migrate") from error
    if exists:
        raise SeedRefused(
            "La base contient déjà des comptes : le jeu de mesure se génère sur une base vide et migrée. "
            "Utilisez un autre dossier de données (PORTAL_DATA_DIR=… portal migrate && PORTAL_DATA_DIR=… portal seed) "
            "ou une autre base PostgreSQL (PORTAL_DATABASE_URL)."
        )


async def generate(size_name: str = "large", *, verbose: bool = False) -> SeedContext:
    """Generate the dataset in one transaction and return what was made (counts in ``ctx.counts``)."""
    if size_name not in SIZES:
        raise ValueError(f"Taille inconnue : {size_name} (choix : {', '.join(SIZES)})")
    for module in EXTENSIONS:
        importlib.import_module(module)
    ctx = SeedContext(size=SIZES[size_name], rng=random.Random(RANDOM_SEED), started=now(),
                      password_hash=hash_password(BENCH_PASSWORD))  # hashed once, shared by every staff account
    steps: list[tuple[str, Generator]] = [("annuaire", _directory), ("comptes", _people),
                                          ("messages et historique", _messages_and_history), *GENERATORS]
    async with atomic():
        await _refuse_unless_empty()
        for name, step in steps:
            began = time.perf_counter()
            extra = await step(ctx)
            if extra:
                for key, value in extra.items():
                    ctx.counts[key] = ctx.counts.get(key, 0) + value
            if verbose:
                print(f"  {name} : {time.perf_counter() - began:.1f} s", flush=True)
    return ctx


async def seed(size: str) -> dict[str, int]:
    """``portal seed --size …``: generate, then print the counts and the benchmark accounts."""
    began = time.perf_counter()
    print(f"Génération du jeu de mesure « {size} » (données inventées, marquées « bench »)…", flush=True)
    try:
        ctx = await generate(size, verbose=True)
    except SeedRefused as error:
        raise SystemExit(str(error)) from None
    print(f"Terminé en {time.perf_counter() - began:.1f} s.")
    for table, count in sorted(ctx.counts.items()):
        print(f"  {table:<16} {count:>8}")
    if not GENERATORS:
        print("  (pas encore de tentatives d'UAA : les tables des UAA n'existent pas encore)")
    print(f"Comptes de mesure (mot de passe {BENCH_PASSWORD}) :")
    for profile, username in BENCH_USERNAMES.items():
        print(f"  {profile.label:<32} {username}")
    return ctx.counts


def bench_accounts() -> Iterable[tuple[str, str, str]]:
    """(profile code, username, password) of each benchmark account."""
    for profile, username in BENCH_USERNAMES.items():
        yield profile.value, username, BENCH_PASSWORD
