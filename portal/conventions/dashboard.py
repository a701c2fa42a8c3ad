"""The conventions blocks of the dashboards (merged by `portal.dashboards.services.blocks_for`).

A constant, small number of queries per profile (no query per row): coordinator — the board of the pole's
conventions; délégué PO — what waits for their signature; direction — what waits for their acknowledgment and the
state of the conventions concerning the school; Administration — conventions to validate, change requests and
communicated avenants to take into account.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.accounts.identity import CurrentUser
from portal.conventions import rules
from portal.conventions.services import administration_lists, summaries
from portal.core.db import query
from portal.permissions import Profile

# One statement per dashboard block: the dashboards are benchmarked and keep a small, constant number of queries.
# Piccolo's raw queries take positional ``{}`` placeholders, in order (hence the repeated arguments below).
_COLUMNS = """SELECT c.id, c.kind, c.step, p.name AS pole_name, o.name AS other_po_name, {done} AS done
FROM convention c JOIN pole p ON p.id = c.pole LEFT JOIN organising_body o ON o.id = c.other_po"""

#: conventions at their signatures that concern the PO (seat's PO, or the PO of a school covered), unsigned by it;
#: arguments: step, active, po, po, po
_TO_SIGN_SQL = _COLUMNS.format(done="0") + """
JOIN establishment seat ON seat.id = p.seat
WHERE c.step = {} AND c.active = {}
  AND (seat.organising_body = {} OR EXISTS (SELECT 1 FROM convention_school cs
        JOIN establishment e ON e.id = cs.establishment WHERE cs.convention = c.id AND e.organising_body = {}))
  AND NOT EXISTS (SELECT 1 FROM convention_signature s WHERE s.convention = c.id AND s.organising_body = {})
ORDER BY p.name, c.id"""

#: active conventions of the school (as seat or as a school covered), with its acknowledgment;
#: arguments: school, active, school, school
_CONCERNING_SQL = _COLUMNS.format(
    done="CASE WHEN EXISTS (SELECT 1 FROM convention_acknowledgment a WHERE a.convention = c.id "
         "AND a.establishment = {}) THEN 1 ELSE 0 END") + """
WHERE c.active = {} AND (p.seat = {} OR EXISTS (SELECT 1 FROM convention_school cs
        WHERE cs.convention = c.id AND cs.establishment = {}))
ORDER BY p.name, c.id"""

#: avenants communicated and waiting to be taken into account by the Administration; arguments: status
_AVENANTS_SQL = """SELECT a.id, a.convention, a.effective_year, c.kind, p.name AS pole_name, o.name AS other_po_name
FROM convention_avenant a JOIN convention c ON c.id = a.convention JOIN pole p ON p.id = c.pole
LEFT JOIN organising_body o ON o.id = c.other_po
WHERE a.status = {}
ORDER BY a.effective_year, p.name, a.id"""


@dataclass
class Item(rules.KindAndStepLabels):
    """A convention as a dashboard list shows it."""

    id: int
    kind: str
    step: str
    pole_name: str
    other_po_name: str
    done: bool


def _item(row: dict) -> Item:
    return Item(row["id"], row["kind"], row["step"], row["pole_name"], row["other_po_name"] or "", bool(row["done"]))


async def blocks(user: CurrentUser) -> dict:
    """Blocks this domain adds to the dashboard of the profile acted for."""
    active = user.active
    if active is None:
        return {}
    if active.profile == Profile.COORDINATOR:
        board = await summaries("active_pole", active.pole_id or -1, True)
        return {"conventions_board": board}
    if active.profile == Profile.DELEGUE_PO:
        po = active.organising_body_id or -1
        rows = await query(_TO_SIGN_SQL, rules.SIGNATURES, True, po, po, po)
        return {"conventions_to_sign": [_item(row) for row in rows]}
    if active.profile == Profile.DIRECTION:
        school = active.establishment_id or -1
        rows = await query(_CONCERNING_SQL, school, True, school, school)
        concerning = [_item(row) for row in rows]
        return {
            "conventions_to_acknowledge": [c for c in concerning
                                           if c.step == rules.ACKNOWLEDGMENT and not c.done],
            "conventions_concerning": concerning,
        }
    if active.profile == Profile.ADMINISTRATION:
        lists = await administration_lists()
        avenants = await query(_AVENANTS_SQL, rules.AV_COMMUNICATED)
        for row in avenants:
            row["kind_label"] = rules.KIND_LABELS[row["kind"]]
        return {"conventions_to_validate": lists["waiting"], "conventions_requests": lists["requests"],
                "conventions_avenants": avenants}
    return {}
