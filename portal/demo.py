"""Demo data (SPEC §11), loaded on the first start. EVERYTHING HERE IS INVENTED FOR THE DEMO.

Establishments, organising bodies, poles, people and messages below are fictitious; their names say "démo" and
their rows carry ``demo = True`` so that screens can mark them. Zone names are the real FWB *bassins*.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.accounts.passwords import hash_password
from portal.accounts.tables import AccessRequest, Account, Affiliation
from portal.core.clock import now
from portal.core.db import atomic
from portal.directory.tables import (
    Establishment,
    Implantation,
    OrganisingBody,
    Pole,
    PoleSchool,
    Zone,
)
from portal.history.services import SYSTEM, record
from portal.messaging.tables import Message
from portal.permissions import Profile

DEMO_PASSWORD = "Portail-Demo-2026"


@dataclass(frozen=True)
class DemoAccount:
    """A demo person: login, names, and the affiliations (profile, key of the establishment / pole / PO)."""

    username: str
    first_name: str
    last_name: str
    affiliations: tuple[tuple[Profile, str], ...]
    note: str


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("claire.lambert", "Claire", "Lambert", ((Profile.COORDINATOR, "pole"),),
                "coordonnatrice du pôle démo"),
    DemoAccount("marc.dubois", "Marc", "Dubois", ((Profile.DIRECTION, "seat"),), "direction de l'école siège"),
    DemoAccount("sophie.martin", "Sophie", "Martin", ((Profile.DIRECTION, "partner_other"),),
                "direction d'une école partenaire (autre PO)"),
    DemoAccount("luc.renard", "Luc", "Renard", ((Profile.DIRECTION, "coop_other"),),
                "direction d'une école coopérante (autre PO)"),
    DemoAccount("anne.lemaire", "Anne", "Lemaire", ((Profile.DELEGUE_PO, "po_seat"),),
                "déléguée du PO de l'école siège"),
    DemoAccount("helene.fontaine", "Hélène", "Fontaine", ((Profile.ADMINISTRATION, ""),),
                "Administration (FWB)"),
    DemoAccount("pierre.leroy", "Pierre", "Leroy", ((Profile.TEACHER, "itd"),), "enseignant, Institut technique démo"),
    DemoAccount("lucas.petit", "Lucas", "Petit", ((Profile.LEARNER, "itd"),), "apprenant, Institut technique démo"),
    DemoAccount("thomas.girard", "Thomas", "Girard", ((Profile.SCHOOL_ADMIN, "itd"),),
                "administrateur d'établissement, Institut technique démo"),
    DemoAccount("nathalie.moreau", "Nathalie", "Moreau", ((Profile.DDFTP, "lp"),), "DDFTP, lycée professionnel démo"),
    DemoAccount("julie.roux", "Julie", "Roux", ((Profile.TEACHER, "lp"),), "enseignante, lycée professionnel démo"),
    DemoAccount("emma.garnier", "Emma", "Garnier", ((Profile.LEARNER, "lp"),), "apprenante, lycée professionnel démo"),
    DemoAccount("jf.bernard", "Jean-François", "Bernard", ((Profile.TEACHER, "itd"), (Profile.DIRECTION, "partner_same")),
                "deux affiliations : enseignant (Institut technique démo) et direction (école partenaire, même PO)"),
)


async def demo_loaded() -> bool:
    """True when the demo set is already in the database."""
    return await Account.exists().where(Account.demo == True)  # noqa: E712


async def _insert(row) -> int:
    result = await type(row).insert(row).returning(type(row).id)
    return result[0]["id"]


async def load_demo() -> bool:
    """Load the demo set once; returns False when it was already there."""
    from portal.uaa.demo import (
        load_uaa_demo,  # the UAA part of the demo: option 2115, learners, attempts
    )

    from portal.competencies.demo import load_demo as load_competencies_demo
    from portal.conventions.demo import load_demo as load_conventions_demo

    if await demo_loaded():
        # a database from before a module gets that module's part (each loader is idempotent)
        await load_uaa_demo()
        await load_conventions_demo()
        await load_competencies_demo()
        return False
    current = now()
    async with atomic():
        zones = {}
        for name in ("Liège-Verviers", "Huy-Waremme", "Bruxelles-Capitale"):
            zones[name] = await _insert(Zone(name=name, country="BE"))
        zone_fr = await _insert(Zone(name="Académie de Dijon (démo)", country="FR"))
        po = {
            "po_seat": await _insert(OrganisingBody(fase="99001", name="PO démo — Ville de Mosane", network="Officiel subventionné")),
            "po_other": await _insert(OrganisingBody(fase="99002", name="PO démo — ASBL Écoles libres du Condroz", network="Libre confessionnel")),
            "po_third": await _insert(OrganisingBody(fase="99003", name="PO démo — Province de Hesbaye", network="Officiel subventionné")),
        }

        async def school(key, fase, name, kind, po_key, zone, city):
            ident = await _insert(Establishment(country="BE", fase=fase, name=name, kind=kind, city=city,
                                                organising_body=po[po_key], zone=zones[zone], demo=True))
            await _insert(Implantation(establishment=ident, fase=f"{fase}1", name=f"{name} — implantation principale",
                                       city=city))
            return key, ident

        est = dict([
            await school("seat", "99101", "École siège démo d'enseignement spécialisé", "spécialisé", "po_seat", "Liège-Verviers", "Mosane"),
            await school("partner_same", "99102", "École partenaire démo des Tilleuls", "spécialisé", "po_seat", "Liège-Verviers", "Mosane"),
            await school("partner_other", "99103", "École partenaire démo Saint-Joseph", "spécialisé", "po_other", "Liège-Verviers", "Ourthe"),
            await school("specific", "99104", "École partenaire spécifique démo (type 5)", "spécialisé", "po_third", "Huy-Waremme", "Hesbaye"),
            await school("coop_same", "99105", "Athénée coopérant démo de Mosane", "ordinaire", "po_seat", "Liège-Verviers", "Mosane"),
            await school("coop_other", "99106", "Collège coopérant démo du Condroz", "ordinaire", "po_other", "Huy-Waremme", "Condroz"),
            await school("itd", "99107", "Institut technique démo", "ordinaire", "po_third", "Huy-Waremme", "Hesbaye"),
        ])
        est["lp"] = await _insert(Establishment(country="FR", uai="0219999Z", name="Lycée professionnel démo Gustave-Eiffel",
                                                kind="lycée professionnel", city="Dijon", zone=zone_fr, demo=True))
        pole = await _insert(Pole(name="Pôle territorial démo de Mosane", seat=est["seat"], demo=True))
        for position, (key, role) in enumerate([
            ("partner_same", "partenaire"), ("partner_other", "partenaire"), ("specific", "partenaire_specifique"),
            ("coop_same", "cooperante"), ("coop_other", "cooperante"),
        ]):
            await _insert(PoleSchool(pole=pole, establishment=est[key], role=role, position=position + 1))

        password_hash = hash_password(DEMO_PASSWORD)  # one hash: every demo account shares the demo password
        for person in DEMO_ACCOUNTS:
            account = await _insert(Account(username=person.username, first_name=person.first_name,
                                            last_name=person.last_name, email=f"{person.username}@demo.invalid",
                                            password_hash=password_hash, origin="manual", demo=True, created_at=current))
            for profile, key in person.affiliations:
                scope = {"establishment": None, "pole": None, "organising_body": None}
                if profile.scope == "establishment":
                    scope["establishment"] = est[key]
                elif profile.scope == "pole":
                    scope["pole"] = pole
                elif profile.scope == "organising_body":
                    scope["organising_body"] = po[key]
                await _insert(Affiliation(account=account, profile=profile.value, granted_at=current, **scope))

        for subject, body in [
            ("Bienvenue sur le portail (démo)", "Ce portail de démonstration rassemble la validation des UAA, les conventions des pôles "
             "territoriaux et le suivi des compétences. Toutes les données affichées sont fictives."),
            ("Campagne des conventions 2026-2027 (démo)", "Les conventions des pôles territoriaux sont à conclure pour le 15 octobre."),
        ]:
            await _insert(Message(kind="applicatif", subject=subject, body=body, created_at=current, demo=True))
        await _insert(Message(kind="cible", subject="Encodage des UAA (démo)", establishment=est["itd"], created_at=current,
                              body="Les résultats des épreuves de validation du premier trimestre sont à encoder.", demo=True))
        await _insert(Message(kind="cible", subject="Réunion du pôle (démo)", pole=pole, created_at=current,
                              body="La réunion de coordination du pôle aura lieu le premier mardi du mois.", demo=True))
        await _insert(AccessRequest(first_name="Camille", last_name="Durand", email="camille.durand@demo.invalid",
                                    function="Enseignante", profile=Profile.TEACHER.value, establishment=est["itd"],
                                    organising_body=po["po_third"], motivation="Nouvelle enseignante de l'option 2115 (démo).",
                                    created_at=current))
        await record(SYSTEM, "demo", None, "chargement", summary="Données de démonstration chargées")
    await load_uaa_demo()
    await load_conventions_demo()
    await load_competencies_demo()
    return True
