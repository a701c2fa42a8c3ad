"""The rows of a learner's UAA list, written once in Python (see :mod:`portal.core.html`).

``templates/uaa/partials/attempt_table.html`` calls :func:`group_html` for each UAA's ``<tbody>``, on the full
page and in the fragment htmx swaps after a save: a save answers with one group, so its rows were a third of the
save's time when Jinja wrote them (an include and some forty expressions a row).

An editable row carries its own form (``form-tentative-ID``); its date and status fields are joined to it by
``form=``, so that the row saves alone, with htmx (the UAA's ``<tbody>`` comes back) or without JavaScript.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date

from portal.core.html import Html, text
from portal.core.templating import format_date
from portal.i18n import current_language, gettext

#: The words every row repeats (UAA codes and labels, profiles, statuses: a vocabulary of a few hundred), escaped
#: once, instead of again for each row of each answer.
_vocabulary = functools.lru_cache(maxsize=4096)(text)

_STATUS_CHOICES = (("a_encoder", "A encoder"), ("reussite", "Réussite"), ("echec", "Echec"))
_ATTESTATION_BASE = "/uaa/attestations/tentative/"


@dataclass
class RowsContext:
    """What every row of a list shares: who may encode, the day, where a plain form returns, the messages."""

    editable: bool
    today: date
    back: str
    show_attestation: bool
    csrf_token: str
    attestation_base: str = _ATTESTATION_BASE
    row_errors: dict = field(default_factory=dict)
    row_values: dict = field(default_factory=dict)
    row_notices: dict = field(default_factory=dict)
    target_attempt: int | None = None  # the row htmx saved: its status field gets the focus back


def group_html(group, context: RowsContext, *, swappable: bool, messages=()) -> Html:
    """The ``<tbody>`` of one UAA: the messages of rows the filters hide, then its rows."""
    words = _words()
    parts = [f'<tbody id="uaa-{int(group.uaa_id)}" class="uaa-group">' if swappable else '<tbody class="uaa-group">']
    for kind, message in messages:
        paragraph = (f'<p class="field-error" role="alert">{text(message)}</p>' if kind == "error"
                     else f'<p class="hint" role="status">{text(message)}</p>')
        parts.append(f'<tr class="group-message"><td colspan="6">{paragraph}</td></tr>')
    parts.extend(_row(row, context, words) for row in group.rows)
    parts.append("</tbody>")
    return Html("".join(parts))


_WORDS = {"of_uaa": "de l'UAA", "presentation": "présentation", "date": "Date de présentation", "status": "Statut",
          "save": "Enregistrer", "the_presentation": "la présentation", "download": "Télécharger l'attestation",
          **{value: label for value, label in _STATUS_CHOICES}}


_words_by_language: dict[str, dict[str, str]] = {}


def _words() -> dict[str, str]:
    """The row's words in the request's language, escaped (built once per language)."""
    language = current_language.get()
    words = _words_by_language.get(language)
    if words is None:
        words = _words_by_language[language] = {key: text(gettext(words)) for key, words in _WORDS.items()}
    return words


def _row(row, context: RowsContext, words: dict[str, str]) -> str:
    rid = int(row.id)
    error = context.row_errors.get(row.id)
    notice = context.row_notices.get(row.id)
    typed = context.row_values.get(row.id)
    code = _vocabulary(row.uaa_code)
    where = f"{words['of_uaa']} {code}, {words['presentation']} {int(row.sequence)}"
    invalid = f' aria-invalid="true" aria-describedby="erreur-{rid}"' if error else ""
    icon = f'<span class="status-icon" aria-hidden="true">{_vocabulary(row.status_icon)}</span>'
    form = ""
    if context.editable and row.editable:
        status = typed["status"] if typed else row.status
        day = typed["presented_on"] if typed else (row.presented_on.isoformat() if row.presented_on else "")
        earliest = f' min="{row.min_date.isoformat()}"' if row.min_date else ""
        focus = " autofocus" if context.target_attempt is not None and context.target_attempt == row.id else ""
        options = "".join(f'<option value="{value}"{" selected" if status == value else ""}>{words[value]}</option>'
                          for value, _label in _STATUS_CHOICES)
        date_cell = (f'<label class="visually-hidden" for="date-{rid}">{words["date"]} {where}</label>'
                     f'<input type="date" id="date-{rid}" name="presented_on" form="form-tentative-{rid}" '
                     f'value="{text(day)}" max="{context.today.isoformat()}"{earliest}{invalid}>')
        status_cell = (f'{icon}<label class="visually-hidden" for="statut-{rid}">{words["status"]} {where}</label>'
                       f'<select id="statut-{rid}" name="status" form="form-tentative-{rid}"{focus}{invalid}>'
                       f'{options}</select>')
        uaa = int(row.uaa_id)
        form = (f'<form id="form-tentative-{rid}" class="inline" method="post" action="/uaa/tentatives/{rid}" '
                f'hx-post="/uaa/tentatives/{rid}" hx-target="#uaa-{uaa}" hx-swap="outerHTML">'
                f'<input type="hidden" name="_csrf_token" value="{text(context.csrf_token)}">'
                f'<input type="hidden" name="version" value="{int(row.version)}">'
                f'<input type="hidden" name="eleve" value="{int(row.learner_id)}">'
                f'<input type="hidden" name="uaa" value="{uaa}">'
                f'<input type="hidden" name="retour" value="{text(context.back)}">'
                f'<button type="submit">{words["save"]}<span class="visually-hidden"> '
                f'{words["the_presentation"]} {int(row.sequence)} {words["of_uaa"]} {code}</span></button></form>')
    else:
        date_cell = format_date(row.presented_on)  # digits and slashes: nothing to escape
        status_cell = f"{icon} {_vocabulary(gettext(row.status_label))}"
    attestation = ""
    if row.status == "reussite" and context.show_attestation:
        attestation = (f'<a class="attestation" href="{text(context.attestation_base)}{rid}">'
                       f'<span aria-hidden="true">⤓</span> {words["download"]}'
                       f'<span class="visually-hidden"> {where}</span></a>')
    messages = ""
    if error:
        messages = f'<p class="field-error" id="erreur-{rid}" role="alert">{text(error)}</p>'
    if notice:
        messages += f'<p class="hint" role="status">{text(notice)}</p>'
    return (f'<tr id="tentative-{rid}" class="attempt status-{_vocabulary(row.status)}">'
            f'<td>{_vocabulary(row.profile_label)}</td><td>{code}</td><td>{_vocabulary(row.uaa_label)}</td>'
            f'<td>{date_cell}</td><td class="status">{status_cell}</td>'
            f'<td class="actions">{form}{attestation}{messages}</td></tr>')
