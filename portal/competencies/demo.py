"""The competencies part of the demo data (SPEC §11). EVERYTHING HERE IS INVENTED FOR THE DEMO.

At the « Lycée professionnel démo Gustave-Eiffel » (UAI 0219999Z): the Bac Pro MELEC framework
(``frameworks/bacpro_melec.toml``), a class « 1re MELEC A (démo) » of four learners (emma.garnier and three
accounts created here, password of the demo), a scenario by julie.roux and an evaluation made from it, visible,
partly filled, for three of the four learners: hugo.mercier is in the class but not in the evaluation, so he does
not see it.
"""

from __future__ import annotations

from portal.accounts.identity import AffiliationView, CurrentUser
from portal.accounts.passwords import hash_password
from portal.accounts.tables import Account, Affiliation
from portal.competencies import evaluations, frameworks, grid_saves, rules, scenarios
from portal.competencies import services as svc
from portal.competencies.tables import ClassMember, GridCell, Scenario
from portal.core.clock import now
from portal.core.db import atomic
from portal.directory.tables import Establishment
from portal.permissions import Profile

SCHOOL_UAI = "0219999Z"
CLASS_NAME = "1re MELEC A (démo)"
#: learner accounts created here (username, first name, last name); emma.garnier comes from portal/demo.py
LEARNERS = (("leo.faure", "Léo", "Faure"), ("ines.blanc", "Inès", "Blanc"), ("hugo.mercier", "Hugo", "Mercier"))
NOT_EVALUATED = "hugo.mercier"
SCENARIO_TITLE = "Mise en service d'un tableau divisionnaire (démo)"
#: (learner, task code, level) of the cells filled in the demo evaluation
FILLED = (("emma.garnier", "T2-2", "R"), ("emma.garnier", "T2-3", "P"), ("emma.garnier", "T3-1", "E"),
          ("leo.faure", "T2-2", "P"), ("leo.faure", "T2-3", "T"), ("ines.blanc", "T2-2", "A"))


async def load_demo() -> None:
    """Load this domain's demo rows once (idempotent: a second call changes nothing)."""
    school = await Establishment.select(Establishment.id, Establishment.name).where(
        Establishment.uai == SCHOOL_UAI).first()
    teacher = await Account.select(Account.id, Account.username, Account.first_name, Account.last_name,
                                   Account.email).where(Account.username == "julie.roux").first()
    if not school or not teacher:  # the demo set of portal/demo.py is not there
        return
    report = await frameworks.load_file(frameworks.DEMO_FILE)
    if await Scenario.exists().where((Scenario.demo == True) & (Scenario.establishment == school["id"])):
        return
    stamp = now()
    async with atomic():
        accounts = {r["username"]: r["id"] for r in await Account.select(Account.id, Account.username).where(
            Account.username.is_in(["emma.garnier", *[u for u, _f, _l in LEARNERS]]))}
        password_hash = hash_password("Portail-Demo-2026")  # the demo password of portal/demo.py
        for username, first_name, last_name in LEARNERS:
            if username in accounts:
                continue
            inserted = await Account.insert(Account(
                username=username, first_name=first_name, last_name=last_name, email=f"{username}@demo.invalid",
                password_hash=password_hash, origin="manual", demo=True, created_at=stamp)).returning(Account.id)
            accounts[username] = inserted[0]["id"]
            await Affiliation.insert(Affiliation(account=accounts[username], profile=Profile.LEARNER.value,
                                                 establishment=school["id"], granted_at=stamp))
        await ClassMember.insert(*[ClassMember(establishment=school["id"], account=account_id,
                                               class_name=CLASS_NAME) for account_id in accounts.values()])
        user = CurrentUser(
            account_id=teacher["id"], session_id=0, username=teacher["username"], first_name=teacher["first_name"],
            last_name=teacher["last_name"], email=teacher["email"], help_enabled=True, version=1,
            active=AffiliationView(id=0, profile=Profile.TEACHER, establishment_id=school["id"],
                                   establishment_name=school["name"], establishment_code=f"UAI {SCHOOL_UAI}"))
        tree = await svc.framework_tree(report.framework_id)
        codes = {node.code: node for node in tree.nodes}
        selection = [svc.Selected(codes["T2-2"].id, codes["T2-2"].complexities[:1]),
                     svc.Selected(codes["T2-3"].id),
                     svc.Selected(codes["T3-1"].id, [], codes["T3-1"].hazards[:1]),
                     svc.Selected(codes["T5-2"].id)]
        scenario_id = await scenarios.create_scenario(user, scenarios.ScenarioInput(
            title=SCENARIO_TITLE, private=False,
            context="Un client fait rénover le tableau divisionnaire de son atelier (situation inventée pour la "
                    "démonstration). Les élèves posent, câblent et mettent en service le tableau, puis expliquent "
                    "l'installation au client.",
            materials="Platine de câblage, disjoncteurs et interrupteurs différentiels, contrôleur d'installation.",
            links="https://eduscol.education.fr/", resources="Schéma unifilaire, notice du contrôleur (démo).",
            diploma=tree.diploma, class_level="Première Bac Pro", framework_id=tree.id, competencies=selection,
        ), demo=True)
        learners = [accounts[u] for u in ("emma.garnier", "leo.faure", "ines.blanc") if u in accounts]
        evaluation_id = await evaluations.create_evaluation(
            user, "Tableau divisionnaire — positionnement (démo)", tree.id, selection, learners,
            scenario_id=scenario_id, visible=True, demo=True)
        await grid_saves.save_comment(user, evaluation_id, accounts["emma.garnier"],
                                      "Travail soigné ; revoir les essais avant mise sous tension.", "", "0")
        await GridCell.insert(*[GridCell(evaluation=evaluation_id, learner=accounts[username],
                                         node=codes[code].id, level=level, version=1, updated_by=teacher["id"],
                                         updated_at=stamp)
                                for username, code, level in FILLED if level in rules.CODES])
