"""The scope rule of access requests and revocations: who may decide on what."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.accounts.access_services import (
    ESTABLISHMENT_PROFILES,
    Target,
    deciders_of,
    grantable_at_establishment,
    may_decide,
    scope_condition,
)
from portal.accounts.identity import AffiliationView
from portal.accounts.tables import AccessRequest
from portal.permissions import PERMISSIONS, Profile

SCHOOL, OTHER_SCHOOL = 7, 1
PO, OTHER_PO = 3, 1

ADMINISTRATION = AffiliationView(id=1, profile=Profile.ADMINISTRATION)
DIRECTION = AffiliationView(id=2, profile=Profile.DIRECTION, establishment_id=SCHOOL)
SCHOOL_ADMIN = AffiliationView(id=3, profile=Profile.SCHOOL_ADMIN, establishment_id=SCHOOL)
DELEGATE = AffiliationView(id=4, profile=Profile.DELEGUE_PO, organising_body_id=PO)


def at_school(profile: Profile, school: int = SCHOOL, po: int | None = PO) -> Target:
    return Target(profile=profile, establishment_id=school, establishment_po_id=po, organising_body_id=po)


def test_establishment_profiles_are_those_scoped_by_establishment():
    assert ESTABLISHMENT_PROFILES == {Profile.TEACHER, Profile.LEARNER, Profile.DDFTP, Profile.SCHOOL_ADMIN,
                                      Profile.DIRECTION}


def test_nobody_without_an_affiliation_decides():
    assert not may_decide(None, at_school(Profile.TEACHER))
    assert scope_condition(AccessRequest, None) is False


@pytest.mark.parametrize("profile", list(Profile), ids=lambda p: p.value)
def test_the_administration_decides_everything(profile):
    assert may_decide(ADMINISTRATION, at_school(profile))
    assert may_decide(ADMINISTRATION, Target(profile=profile))
    assert scope_condition(AccessRequest, ADMINISTRATION) is True


@pytest.mark.parametrize("profile", sorted(ESTABLISHMENT_PROFILES), ids=lambda p: p.value)
def test_direction_decides_establishment_profiles_of_its_own_school_only(profile):
    assert may_decide(DIRECTION, at_school(profile))
    assert not may_decide(DIRECTION, at_school(profile, school=OTHER_SCHOOL))
    assert not may_decide(DIRECTION, at_school(profile, school=None))


def test_school_admin_decides_its_school_but_never_grants_direction():
    for profile in ESTABLISHMENT_PROFILES - {Profile.DIRECTION}:
        assert may_decide(SCHOOL_ADMIN, at_school(profile)), profile
        assert not may_decide(SCHOOL_ADMIN, at_school(profile, school=OTHER_SCHOOL)), profile
    assert not may_decide(SCHOOL_ADMIN, at_school(Profile.DIRECTION))
    assert grantable_at_establishment(Profile.SCHOOL_ADMIN) == ESTABLISHMENT_PROFILES - {Profile.DIRECTION}
    assert grantable_at_establishment(Profile.DIRECTION) == ESTABLISHMENT_PROFILES
    assert grantable_at_establishment(Profile.TEACHER) == frozenset()


@pytest.mark.parametrize("decider", [DIRECTION, SCHOOL_ADMIN, DELEGATE], ids=lambda a: a.profile.value)
def test_coordinator_and_administration_profiles_are_for_the_administration_only(decider):
    assert not may_decide(decider, Target(profile=Profile.COORDINATOR, pole_id=1))
    assert not may_decide(decider, Target(profile=Profile.ADMINISTRATION))
    # Even when the request happens to name the decider's school or PO.
    assert not may_decide(decider, at_school(Profile.COORDINATOR))
    assert not may_decide(decider, at_school(Profile.ADMINISTRATION))


def test_po_delegate_decides_the_schools_of_its_po_and_delegates_of_its_po():
    for profile in ESTABLISHMENT_PROFILES:
        assert may_decide(DELEGATE, at_school(profile, school=OTHER_SCHOOL, po=PO)), profile
        assert not may_decide(DELEGATE, at_school(profile, school=SCHOOL, po=OTHER_PO)), profile
    # The PO of the school counts, not a PO the request merely names.
    assert not may_decide(DELEGATE, Target(profile=Profile.TEACHER, establishment_id=SCHOOL,
                                           establishment_po_id=OTHER_PO, organising_body_id=PO))
    assert not may_decide(DELEGATE, Target(profile=Profile.TEACHER, establishment_id=None, organising_body_id=PO))
    assert may_decide(DELEGATE, Target(profile=Profile.DELEGUE_PO, organising_body_id=PO))
    assert not may_decide(DELEGATE, Target(profile=Profile.DELEGUE_PO, organising_body_id=OTHER_PO))
    assert not may_decide(DIRECTION, Target(profile=Profile.DELEGUE_PO, organising_body_id=PO))


@pytest.mark.parametrize("profile", [Profile.TEACHER, Profile.LEARNER, Profile.DDFTP, Profile.COORDINATOR])
def test_other_profiles_decide_nothing(profile):
    decider = AffiliationView(id=9, profile=profile, establishment_id=SCHOOL, pole_id=1, organising_body_id=PO)
    for target_profile in Profile:
        assert not may_decide(decider, at_school(target_profile))
    assert scope_condition(AccessRequest, decider) is False


def test_deciders_without_their_scope_decide_nothing():
    assert not may_decide(AffiliationView(id=5, profile=Profile.DIRECTION), at_school(Profile.TEACHER))
    assert not may_decide(AffiliationView(id=6, profile=Profile.DELEGUE_PO), at_school(Profile.TEACHER))
    assert not may_decide(AffiliationView(id=6, profile=Profile.DELEGUE_PO),
                          Target(profile=Profile.DELEGUE_PO, organising_body_id=None))


def test_the_deciding_profiles_are_those_of_the_permission_table():
    deciders = {p for p in Profile if any(
        may_decide(AffiliationView(id=1, profile=p, establishment_id=SCHOOL, organising_body_id=PO), at_school(t))
        for t in Profile)}
    assert deciders == PERMISSIONS["access.decide"]


def test_the_form_says_who_decides():
    assert deciders_of(Profile.COORDINATOR) == "l'Administration"
    assert deciders_of(Profile.ADMINISTRATION) == "l'Administration"
    assert "administrateur" not in deciders_of(Profile.DIRECTION)
    assert "administrateur de l'établissement" in deciders_of(Profile.TEACHER)
    assert "délégué" in deciders_of(Profile.DELEGUE_PO)


ids = st.one_of(st.none(), st.integers(min_value=1, max_value=4))
affiliations = st.builds(AffiliationView, id=st.just(1), profile=st.sampled_from(list(Profile)),
                         establishment_id=ids, organising_body_id=ids, pole_id=ids)
targets = st.builds(Target, profile=st.sampled_from(list(Profile)), establishment_id=ids,
                    establishment_po_id=ids, pole_id=ids, organising_body_id=ids)


@given(affiliations, targets)
def test_no_one_but_the_administration_decides_outside_their_own_school_or_po(decider, target):
    if not may_decide(decider, target) or decider.profile == Profile.ADMINISTRATION:
        return
    assert target.profile not in {Profile.COORDINATOR, Profile.ADMINISTRATION}
    if decider.profile in (Profile.DIRECTION, Profile.SCHOOL_ADMIN):
        assert target.establishment_id == decider.establishment_id is not None
        assert not (decider.profile == Profile.SCHOOL_ADMIN and target.profile == Profile.DIRECTION)
    else:
        assert decider.profile == Profile.DELEGUE_PO and decider.organising_body_id is not None
        po = target.organising_body_id if target.profile == Profile.DELEGUE_PO else target.establishment_po_id
        assert po == decider.organising_body_id
