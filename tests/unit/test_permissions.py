"""The permission table itself."""

from portal.permissions import PERMISSIONS, PROFILE_LABELS, PROFILE_SCOPES, Profile, allowed


def test_every_profile_has_a_label_and_a_scope():
    assert set(PROFILE_LABELS) == set(Profile) == set(PROFILE_SCOPES)


def test_unknown_action_or_profile_is_refused():
    assert not allowed(Profile.ADMINISTRATION, "n'existe pas")
    assert not allowed(None, "dashboard.view")


def test_learners_cannot_manage_users_or_write_messages():
    assert not allowed(Profile.LEARNER, "users.manage")
    assert not allowed(Profile.TEACHER, "messages.write")
    assert allowed(Profile.ADMINISTRATION, "messages.write")


def test_every_action_names_known_profiles():
    for action, profiles in PERMISSIONS.items():
        assert profiles, action
        assert all(isinstance(p, Profile) for p in profiles)
