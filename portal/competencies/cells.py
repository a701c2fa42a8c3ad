"""The HTML of one grid cell, written once in Python.

A grid of 30 learners × 25 competencies has 750 cells; rendered by a Jinja macro they were most of the page's
time (about a tenth of a millisecond each). ``templates/competencies/partials/cell.html`` (the fragment htmx swaps
after a save) and ``grid_table.html`` (the whole grid, through :func:`row_html`) both use :func:`_cell`, so the
cell has one definition.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from portal.competencies import rules
from portal.i18n import current_language, gettext

_CELL = (
    '<td id="c-{l}-{n}" class="cell {css}">'
    '<input type="hidden" name="avant-{n}" value="{level}" form="f-{l}">'
    '<input type="hidden" name="version-{n}" value="{version}" form="f-{l}">'
    '<select id="s-{l}-{n}" name="niveau-{n}" form="f-{l}" aria-labelledby="lh-{l} ch-{n}" '
    'hx-post="/competences/evaluations/{e}/cellules/{l}/{n}?vue={vue}" hx-trigger="change" '
    'hx-target="#c-{l}-{n}" hx-swap="outerHTML" hx-include="#c-{l}-{n}"{invalid}>{options}</select>{error}{notice}'
    "</td>"
)
_options: dict[str, dict[str, str]] = {}


def level_options(language: str | None = None) -> dict[str, str]:
    """The <option>s of a cell's select for each stored level ("" = not evaluated), built once per language."""
    language = language or current_language.get()
    cached = _options.get(language)
    if cached is None:
        choices = [("", "— " + gettext("non évalué"))] + [(lv.code, f"{lv.code} · {gettext(lv.label)}")
                                                          for lv in rules.LEVELS]
        cached = {chosen: "".join(f'<option value="{code}"{" selected" if code == chosen else ""}>{escape(label)}'
                                  "</option>" for code, label in choices)
                  for chosen, _label in choices}
        _options[language] = cached
    return cached


def cell_html(cell, evaluation_id: int, vue: str, error: str | None = None, notice: str | None = None) -> Markup:
    """One ``<td>`` of the grid: hidden previous level and version, the level select saved in place by htmx
    (or with the learner's row form ``f-LEARNER`` without JavaScript), and the error or notice of a save."""
    return Markup(_cell(cell, int(evaluation_id), str(escape(vue)), level_options(), error, notice))


def _cell(cell, evaluation_id: int, vue: str, options: dict[str, str], error: str | None,
          notice: str | None) -> str:
    """:func:`cell_html` with what is the same for every cell of a grid computed once by the caller."""
    level = cell.level if cell.level in rules.BY_CODE else ""
    learner, node = int(cell.learner_id), int(cell.node_id)
    return _CELL.format(
        l=learner, n=node, e=evaluation_id, css=cell.css, level=level, version=int(cell.version),
        vue=vue, options=options[level],
        invalid=f' aria-invalid="true" aria-describedby="e-{learner}-{node}"' if error else "",
        error=f'<p class="field-error" id="e-{learner}-{node}" role="alert">{escape(error)}</p>' if error else "",
        notice=f'<span class="visually-hidden" role="status">{escape(notice)}</span>' if notice else "",
    )


def row_html(grid, evaluation_id: int, vue: str, errors: dict, *, learner_id: int | None = None,
             node_id: int | None = None) -> Markup:
    """The cells of one row of the grid in one call: a learner's (view by learner) or a competency's (view by
    competency). One template call per row instead of one per cell, one string for the row."""
    if learner_id is not None:
        pairs = ((learner_id, comp.node_id) for comp in grid.competencies)
    else:
        pairs = ((learner.id, node_id) for learner in grid.learners)
    evaluation_id, vue, options, cell = int(evaluation_id), str(escape(vue)), level_options(), grid.cell
    return Markup("".join(_cell(cell(lid, nid), evaluation_id, vue, options, errors.get((lid, nid)), None)
                          for lid, nid in pairs))
