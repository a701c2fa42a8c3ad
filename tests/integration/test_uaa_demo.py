"""The UAA part of the demo: reference data, learners with every kind of attempt, the rules' invariants hold."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest

from portal.accounts.tables import Account
from portal.core.clock import BRUSSELS, now
from portal.uaa import reference
from portal.uaa.demo import DEMO_LEARNERS, load_uaa_demo
from portal.uaa.rules import FAILURE, PENDING, SUCCESS, AttemptState, problems
from portal.uaa.tables import (
    Attempt,
    Attestation,
    Learner,
    Option,
    TrainingProfile,
    Uaa,
)
from tests.integration.conftest import establishment_id as school_id

pytestmark = pytest.mark.anyio



async def sequences() -> dict[tuple[int, int], list[dict]]:
    """The attempts of every learner × UAA, in order."""
    grouped = defaultdict(list)
    for row in await Attempt.select().order_by(Attempt.sequence):
        grouped[(row["learner"], row["uaa"])].append(row)
    return grouped


async def test_reference_data_of_option_2115(demo):
    option = await Option.objects().get(Option.code == "2115")
    assert option.label.startswith("Installateur électricien résidentiel, industriel et tertiaire/Installatrice")
    profile = await TrainingProfile.objects().get(TrainingProfile.option == option.id)
    assert profile.short_label == "Instal. élect. résidentiel(le)"
    uaa = await Uaa.select().where(Uaa.profile == profile.id).order_by(Uaa.position)
    by_code = {row["code"]: row for row in uaa}
    assert by_code["10020"]["label"] == "Placer les conduits et boîtiers encastrés"
    assert by_code["10021"]["label"] == "Placer, raccorder équip. élec. install. encastrée"
    assert not by_code["10020"]["invented"] and not by_code["10021"]["invented"]
    assert all(row["invented"] for code, row in by_code.items() if code not in {"10020", "10021"})
    assert {row["year"] for row in uaa} == {4, 5, 6}
    assert reference.weeks_flags(uaa) == []
    assert all(25 <= total <= 27 for total in reference.yearly_weeks(uaa).values())


async def test_learners_of_the_demo(demo):
    itd, tilleuls = await school_id("99107"), await school_id("99102")
    learners = await Learner.select().where(Learner.demo == True)  # noqa: E712
    assert len(learners) == len(DEMO_LEARNERS) == 15
    assert sum(1 for row in learners if row["establishment"] == itd) == 12
    assert sum(1 for row in learners if row["establishment"] == tilleuls) == 3
    assert {row["study_year"] for row in learners} == {"1 D2 4 P", "1 D3 5 P", "2 D3 6 P"}
    assert {row["school_year"] for row in learners} == {"2026-2027"}
    assert all(row["implantation"] and row["option"] for row in learners)
    lucas = await Account.objects().get(Account.username == "lucas.petit")
    linked = [row for row in learners if row["account"] is not None]
    assert [(row["first_name"], row["last_name"], row["account"]) for row in linked] == [("Lucas", "Petit", lucas.id)]


async def test_every_kind_of_attempt_and_the_invariants_hold(demo):
    grouped = await sequences()
    assert grouped
    today = now().astimezone(BRUSSELS).date()
    kinds = set()
    learner_years = {row["id"]: row["year"] for row in await Learner.select(Learner.id, Learner.year)}
    establishments = {row["id"]: row["establishment"] for row in await Learner.select(Learner.id,
                                                                                        Learner.establishment)}
    uaa_years = {row["id"]: row["year"] for row in await Uaa.select(Uaa.id, Uaa.year)}
    for (learner, uaa), rows in grouped.items():
        states = [AttemptState(row["sequence"], row["status"], row["presented_on"]) for row in rows]
        assert problems(states) == [], (learner, uaa, states)
        assert [row["sequence"] for row in rows] == list(range(1, len(rows) + 1))
        assert uaa_years[uaa] <= learner_years[learner]
        assert all(row["establishment"] == establishments[learner] for row in rows)
        assert all(row["presented_on"] is None or date(2024, 9, 1) <= row["presented_on"] <= today for row in rows)
        statuses = tuple(row["status"] for row in rows)
        kinds.add(statuses)
    assert (PENDING,) in kinds
    assert (SUCCESS,) in kinds
    assert (FAILURE, PENDING) in kinds
    assert (FAILURE, SUCCESS) in kinds
    assert (FAILURE, FAILURE, PENDING) in kinds
    # every learner has one row per UAA of the current year
    current = defaultdict(set)
    for (learner, uaa) in grouped:
        if uaa_years[uaa] == learner_years[learner]:
            current[learner].add(uaa)
    assert all(len(uaa) == 5 for uaa in current.values()) and len(current) == 15
    assert not await Attestation.exists()


async def test_lucas_petit_has_every_kind_of_row(demo):
    lucas = await Learner.objects().get((Learner.first_name == "Lucas") & (Learner.last_name == "Petit"))
    rows = await Attempt.select(Attempt.status).where(Attempt.learner == lucas.id)
    assert {row["status"] for row in rows} == {PENDING, SUCCESS, FAILURE}


async def test_loading_again_changes_nothing(demo):
    before = await Attempt.count(), await Learner.count(), await Uaa.count()
    await load_uaa_demo()
    report = await reference.load_reference()
    assert report["uaa"] == {"created": 0, "updated": 0, "unchanged": 15}
    assert report["options"]["created"] == 0 and report["warnings"] == []
    assert (await Attempt.count(), await Learner.count(), await Uaa.count()) == before


async def test_a_changed_reference_file_updates_only_what_differs(demo, tmp_path):
    source = reference.DEFAULT_PATH.read_text(encoding="utf-8")
    changed = source.replace('label = "Câbler une armoire de commande industrielle"',
                             'label = "Câbler une armoire de commande"')
    assert changed != source
    path = tmp_path / "uaa.toml"
    path.write_text(changed, encoding="utf-8")
    report = await reference.load_reference(path)
    assert report["uaa"] == {"created": 0, "updated": 1, "unchanged": 14}
    assert (await Uaa.objects().get(Uaa.code == "10030")).label == "Câbler une armoire de commande"

    broken = tmp_path / "broken.toml"
    broken.write_text(source.replace("weeks = 6\nyear = 6", "weeks = 6\nyear = 7", 1), encoding="utf-8")
    with pytest.raises(reference.ReferenceDataError) as error:
        await reference.load_reference(broken)
    assert any("(10029)" in message and "« year »" in message for message in error.value.messages)
    assert (await Uaa.objects().get(Uaa.code == "10030")).label == "Câbler une armoire de commande"
