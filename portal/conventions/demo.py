"""The conventions part of the demo data (SPEC §11). EVERYTHING HERE IS INVENTED FOR THE DEMO.

The demo pole's instruments are decided from its schools like any other pole's, then put at different steps:
the convention de coopération with the PO « ASBL Écoles libres du Condroz » is at the articles (one article still
red); the convention de partenariat is signed by both délégués and waits for the Administration; the ressort de
coopération waits for the signature of the seat's délégué; the convention de partenariat spécifique is at its
school list. Reference functions carry invented points; holidays and the campaign date are those of the current
school year as the demo imagines them. Two délégués PO are added (PO 99002 and PO 99003), with the demo password.
"""

from __future__ import annotations

from datetime import date, timedelta

from portal.accounts.passwords import hash_password
from portal.accounts.tables import Account, Affiliation
from portal.conventions import rules
from portal.conventions.services import pole_info, sync_pole, today
from portal.conventions.tables import (
    ArticleText,
    Campaign,
    Convention,
    ConventionSchool,
    SchoolHoliday,
    Signature,
    StaffFunction,
)
from portal.core.clock import now
from portal.core.db import atomic
from portal.directory.tables import Establishment, OrganisingBody, Pole
from portal.documents import services as documents
from portal.history.services import SYSTEM, record
from portal.permissions import Profile

DEMO_POLE = "Pôle territorial démo de Mosane"
#: (username, first name, last name, FASE of the PO) — délégués PO added by this module
DEMO_DELEGATES = (
    ("paul.gerard", "Paul", "Gérard", "99002"),
    ("ines.collard", "Inès", "Collard", "99003"),
)
DEMO_FUNCTIONS = (("Logopède (démo)", 36), ("Kinésithérapeute (démo)", 36), ("Ergothérapeute (démo)", 34),
                  ("Puéricultrice (démo)", 24))
DEMO_TEXT = "Texte de démonstration (fictif) : "
#: a tiny valid PDF standing for a scanned dérogation (démo)
DEMO_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def demo_holidays(start_year: int) -> list[tuple[str, date, date]]:
    """The holidays of the school year beginning in ``start_year``, as the demo imagines them."""
    return [
        ("Congé d'automne (démo)", date(start_year, 10, 19), date(start_year, 10, 30)),
        ("Vacances d'hiver (démo)", date(start_year, 12, 21), date(start_year + 1, 1, 1)),
        ("Congé de détente (démo)", date(start_year + 1, 2, 15), date(start_year + 1, 2, 26)),
        ("Vacances de printemps (démo)", date(start_year + 1, 4, 26), date(start_year + 1, 5, 7)),
        ("Vacances d'été (démo)", date(start_year + 1, 7, 3), date(start_year + 1, 8, 25)),
    ]


async def _insert(row) -> int:
    result = await type(row).insert(row).returning(type(row).id)
    return result[0]["id"]


async def _reference() -> None:
    for name, points in DEMO_FUNCTIONS:
        if not await StaffFunction.exists().where(StaffFunction.name == name):
            await _insert(StaffFunction(name=name, points=points, demo=True))
    school_year = rules.school_year_of(today())
    start_year = int(school_year[:4])
    if not await SchoolHoliday.exists().where(SchoolHoliday.demo == True):
        for label, start, end in demo_holidays(start_year):
            await _insert(SchoolHoliday(label=label, starts_on=start, ends_on=end, demo=True))
    if not await Campaign.exists().where(Campaign.school_year == school_year):
        await _insert(Campaign(school_year=school_year, due_on=date(start_year, 10, 15), demo=True))


async def _delegates() -> dict[str, int]:
    """The demo délégués PO (created once); returns PO FASE → account id, with the seat's délégué."""
    result = {}
    password_hash = None
    for username, first, last, po_fase in DEMO_DELEGATES:
        po = await OrganisingBody.select(OrganisingBody.id).where(OrganisingBody.fase == po_fase).first()
        if po is None:
            continue
        account = await Account.select(Account.id).where(Account.username == username).first()
        if account is None:
            password_hash = password_hash or hash_password(_demo_password())
            account_id = await _insert(Account(username=username, first_name=first, last_name=last,
                                               email=f"{username}@demo.invalid", password_hash=password_hash,
                                               origin="manual", demo=True, created_at=now()))
            await _insert(Affiliation(account=account_id, profile=Profile.DELEGUE_PO.value,
                                      organising_body=po["id"], granted_at=now()))
        else:
            account_id = account["id"]
        result[po_fase] = account_id
    seat = await Account.select(Account.id).where(Account.username == "anne.lemaire").first()
    if seat:
        result["99001"] = seat["id"]
    return result


def _demo_password() -> str:
    from portal.demo import (
        DEMO_PASSWORD,  # late import: portal.demo imports this module's loader
    )

    return DEMO_PASSWORD


async def _articles(convention_id: int, kind: str, keys: list[str], author: int | None, **data) -> None:
    for item in rules.articles_for(kind):
        if item.key not in keys:
            continue
        text = f"{DEMO_TEXT}{item.title.lower()} au sein du pôle démo."
        payload = data.get(item.key, "")
        await _insert(ArticleText(convention=convention_id, key=item.key, text=text, data=payload, version=1,
                                  saved_by=author, saved_at=now()))


def _required(kind: str) -> list[str]:
    return [a.key for a in rules.articles_for(kind) if a.nature == "R"]


async def load_demo() -> None:
    """Load this domain's demo rows once (idempotent: a second call changes nothing)."""
    async with atomic():
        await _reference()
        pole_row = await Pole.select(Pole.id).where(Pole.name == DEMO_POLE).first()
        if pole_row is None:
            return
        delegates = await _delegates()
        if await Convention.exists().where(Convention.pole == pole_row["id"]):
            return
        pole = await pole_info(pole_row["id"])
        await sync_pole(pole, SYSTEM, demo=True)
        conventions = {(r["kind"], r["other_po"]): r["id"] for r in await Convention.select(
            Convention.id, Convention.kind, Convention.other_po).where(Convention.pole == pole.id)}
        po_ids = {r["fase"]: r["id"] for r in await OrganisingBody.select(OrganisingBody.id, OrganisingBody.fase)}
        author = await Account.select(Account.id).where(Account.username == "claire.lambert").first()
        author_id = author["id"] if author else None
        current = now()

        cooperation = conventions.get((rules.COOPERATION, po_ids.get("99002")))
        if cooperation:
            condroz = await Establishment.select(Establishment.id).where(Establishment.fase == "99106").first()
            document = await documents.store("derogation", f"DER-DEMO-{cooperation}", "derogation-99106-demo.pdf",
                                             DEMO_PDF)
            await ConventionSchool.update({ConventionSchool.derogation: document}).where(
                (ConventionSchool.convention == cooperation) & (ConventionSchool.establishment == condroz["id"]))
            await Convention.update({Convention.step: rules.ARTICLES, Convention.list_validated_at: current}).where(
                Convention.id == cooperation)
            await _articles(cooperation, rules.COOPERATION, ["art4"], author_id)

        partnership = conventions.get((rules.PARTNERSHIP, None))
        if partnership:
            await _articles(partnership, rules.PARTNERSHIP, _required(rules.PARTNERSHIP), author_id,
                            art8='{"mode": "siege", "shares": {}}')
            await Convention.update({Convention.step: rules.ADMINISTRATION, Convention.list_validated_at: current,
                                     Convention.articles_validated_at: current}).where(Convention.id == partnership)
            for fase in ("99001", "99002"):
                if fase in delegates:
                    await _insert(Signature(convention=partnership, organising_body=po_ids[fase],
                                            account=delegates[fase], signed_at=current))

        ressort = conventions.get((rules.RESSORT_COOPERATION, None))
        if ressort:
            await _articles(ressort, rules.RESSORT_COOPERATION, _required(rules.RESSORT_COOPERATION), author_id)
            await Convention.update({Convention.step: rules.SIGNATURES, Convention.list_validated_at: current,
                                     Convention.articles_validated_at: current}).where(Convention.id == ressort)

        specific = await Convention.select(Convention.id).where(
            (Convention.pole == pole.id) & (Convention.kind == rules.SPECIFIC)).first()
        if specific:
            await Convention.update({Convention.care_starts_on: today() + timedelta(days=42)}).where(
                Convention.id == specific["id"])
        await record(SYSTEM, "convention", None, "chargement", pole_id=pole.id,
                     summary="Conventions de démonstration chargées")
