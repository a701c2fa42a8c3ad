"""Pure rules of messaging: the message and contact forms, mail states, paging, LIKE patterns."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from portal.messaging import services


def form(**fields) -> dict:
    return {"kind": "applicatif", "subject": "Objet", "body": "Texte", **fields}


def test_a_valid_applicatif_message():
    draft = services.check_message_form(form(subject="  Objet  ", body="  a\r\nb  "))
    assert draft.errors == []
    assert (draft.kind, draft.subject, draft.body) == ("applicatif", "Objet", "a\nb")


def test_a_targeted_message_needs_exactly_one_target():
    assert services.check_message_form(form(kind="cible", establishment="99107")).errors == []
    assert services.check_message_form(form(kind="cible", pole="3")).pole_id == 3
    assert "Pour un message ciblé" in services.check_message_form(form(kind="cible")).errors[0]
    both = services.check_message_form(form(kind="cible", establishment="99107", pole="3"))
    assert any("pas les deux" in e for e in both.errors)


def test_uai_is_upper_cased():
    assert services.check_message_form(form(kind="cible", establishment=" 0219999z ")).establishment_code == "0219999Z"


def test_applicatif_refuses_a_target():
    assert "s'adresse à tous" in services.check_message_form(form(establishment="99107")).errors[0]


def test_limits_are_inclusive():
    assert services.check_message_form(form(subject="x" * 200, body="y" * 5000)).errors == []
    errors = services.check_message_form(form(subject="x" * 201, body="y" * 5001)).errors
    assert len(errors) == 2 and "200 caractères" in errors[0] and "5 000 caractères" in errors[1]


def test_subject_on_one_line():
    assert "une ligne" in services.check_message_form(form(subject="a\nb")).errors[0]


def test_non_string_values_count_as_missing():
    draft = services.check_message_form({"kind": ["cible"], "subject": None, "body": 3})
    assert len(draft.errors) == 3


@given(st.text(max_size=300), st.text(max_size=300))
def test_contact_form_errors_iff_empty_or_too_long(subject, message):
    clean_subject, clean_body, errors = services.check_contact_form({"subject": subject, "message": message})
    bad_subject = not clean_subject or len(clean_subject) > 200 or any(ord(c) < 32 for c in clean_subject)
    assert bool(errors) == (bad_subject or not clean_body)


def test_mail_states():
    assert services.mail_state(datetime(2026, 1, 1, tzinfo=UTC), "") == "sent"
    assert services.mail_state(None, "Connexion refusée") == "error"
    assert services.mail_state(None, "") == "pending"
    assert services.mail_state(None, None) == "pending"


def test_paging():
    assert services.page_count(0, 20) == 1
    assert services.page_count(20, 20) == 1
    assert services.page_count(21, 20) == 2
    assert services.clamp_page(0) == 1 and services.clamp_page(-3) == 1 and services.clamp_page(4) == 4


def test_like_pattern_takes_wildcards_literally():
    assert services.like_pattern("Ab") == "%ab%"
    assert services.like_pattern("50%_x\\") == "%50\\%\\_x\\\\%"
