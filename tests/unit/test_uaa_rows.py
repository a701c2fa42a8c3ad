"""The rows of a learner's UAA list written in Python (``portal.uaa.rows``): what an editable row and a read-only
row hold, what was typed coming back after a refusal, the focus after an htmx save, and escaping."""

from __future__ import annotations

from datetime import date

from portal.uaa.encoding import AttemptRow, Group
from portal.uaa.rows import RowsContext, group_html


def _row(**changes) -> AttemptRow:
    values = {"id": 41, "learner_id": 7, "uaa_id": 3, "uaa_code": "UAA<1>", "uaa_label": "Câblage & tests",
              "profile_label": "Électricien", "sequence": 2, "status": "reussite", "presented_on": date(2026, 10, 5),
              "version": 4, "editable": True, "min_date": date(2026, 9, 1)}
    return AttemptRow(**(values | changes))


def _context(**changes) -> RowsContext:
    values = {"editable": True, "today": date(2026, 11, 23), "back": "/uaa/eleves/7?q=a&b", "show_attestation": True,
              "csrf_token": "jeton"}
    return RowsContext(**(values | changes))


def test_an_editable_row_carries_its_form_fields_and_the_attestation():
    html = str(group_html(Group(3, [_row()]), _context(), swappable=True))
    assert html.startswith('<tbody id="uaa-3" class="uaa-group">') and html.endswith("</tbody>")
    assert '<form id="form-tentative-41" class="inline" method="post" action="/uaa/tentatives/41"' in html
    assert 'hx-target="#uaa-3"' in html and 'name="_csrf_token" value="jeton"' in html
    assert 'value="2026-10-05" max="2026-11-23" min="2026-09-01"' in html
    assert '<option value="reussite" selected>Réussite</option>' in html
    assert 'name="retour" value="/uaa/eleves/7?q=a&amp;b"' in html
    assert 'href="/uaa/attestations/tentative/41"' in html
    assert "UAA&lt;1&gt;" in html and "Câblage &amp; tests" in html and "<1>" not in html
    assert "autofocus" not in html and "aria-invalid" not in html


def test_a_read_only_row_shows_the_date_and_the_status_in_words():
    html = str(group_html(Group(3, [_row(status="echec")]), _context(editable=False, show_attestation=False),
                          swappable=False))
    assert html.startswith('<tbody class="uaa-group">')
    assert "<form" not in html and "<select" not in html and "05/10/2026" in html and "Echec" in html
    assert "attestation" not in html


def test_a_refused_row_shows_what_was_typed_its_error_and_gets_the_focus():
    context = _context(row_errors={41: "Date « impossible »."},
                       row_values={41: {"status": "echec", "presented_on": "2026-10-06"}}, target_attempt=41)
    html = str(group_html(Group(3, [_row()]), context, swappable=True,
                          messages=[("notice", "Ligne masquée enregistrée.")]))
    assert '<option value="echec" selected>' in html and 'value="2026-10-06"' in html
    assert 'aria-invalid="true" aria-describedby="erreur-41"' in html and "autofocus" in html
    assert '<p class="field-error" id="erreur-41" role="alert">Date « impossible ».</p>' in html
    assert '<tr class="group-message"><td colspan="6"><p class="hint" role="status">Ligne masquée' in html
