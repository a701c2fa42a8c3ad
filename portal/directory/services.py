"""Look-ups in the directory shared by every module: establishments by FASE or UAI number, PO, poles."""

from __future__ import annotations

import re

from portal.directory.tables import Establishment, OrganisingBody, Pole

UAI_RE = re.compile(r"^\d{7}[A-Z]$")
FASE_RE = re.compile(r"^\d{1,10}$")
CODE_MAX = 20


def establishment_label(name: str | None, fase: str | None, uai: str | None) -> str:
    """``Institut technique démo (FASE 99107)``."""
    code = f"FASE {fase}" if fase else (f"UAI {uai}" if uai else "")
    return f"{name} ({code})" if code else (name or "")


async def pole_choices() -> list[dict]:
    """The poles, by name, for the pole lists of forms."""
    return await Pole.select(Pole.id, Pole.name).order_by(Pole.name)


def normalise_code(code: str) -> str:
    """A FASE or UAI number as typed, without spaces, upper case, and without a leading ``FASE``/``UAI``."""
    code = re.sub(r"\s+", "", code or "").upper()
    return re.sub(r"^(FASE|UAI)[:°N]*", "", code)


async def find_establishment(code: str) -> dict | None:
    """The establishment with this FASE or UAI number, with its organising body, or None."""
    code = normalise_code(code)
    if not code or len(code) > CODE_MAX:
        return None
    if FASE_RE.match(code):
        condition = Establishment.fase == code
    elif UAI_RE.match(code):
        condition = Establishment.uai == code
    else:
        return None
    rows = await Establishment.select(
        Establishment.id, Establishment.name, Establishment.fase, Establishment.uai, Establishment.city,
        Establishment.organising_body, Establishment.organising_body.name,
    ).where(condition).limit(1)
    if not rows:
        return None
    row = rows[0]
    row["label"] = establishment_label(row["name"], row["fase"], row["uai"])
    return row


async def find_organising_body(fase: str) -> dict | None:
    """The organising body with this FASE number, or None."""
    fase = normalise_code(fase)
    if not fase or not FASE_RE.match(fase):
        return None
    rows = await OrganisingBody.select(OrganisingBody.id, OrganisingBody.name, OrganisingBody.fase).where(
        OrganisingBody.fase == fase).limit(1)
    if not rows:
        return None
    row = rows[0]
    row["label"] = f"{row['name']} (FASE {row['fase']})"
    return row
