"""Gettext catalogues: French is the source, the English catalogue is started."""

from portal import i18n


def test_french_is_the_default_and_returns_the_source():
    token = i18n.current_language.set("fr")
    try:
        assert i18n.gettext("Tableau de bord") == "Tableau de bord"
    finally:
        i18n.current_language.reset(token)


def test_english_catalogue_translates_the_layout():
    token = i18n.current_language.set("en")
    try:
        assert i18n.gettext("Tableau de bord") == "Dashboard"
        assert i18n.gettext("Se déconnecter") == "Sign out"
    finally:
        i18n.current_language.reset(token)


def test_unknown_language_falls_back_to_french():
    assert i18n.pick_language("de") == "fr"
    assert i18n.pick_language("en") == "en"
