"""The HTML of one grid cell, written once in Python.

A grid of 30 learners × 25 competencies has 750 cells; rendered by a Jinja macro they were most of the page's
time (about a tenth of a millisecond each). ``templates/competencies/partials/cell.html`` (the fragment htmx swaps
after a save) and ``grid_table.html`` (the whole grid, through :func:`row_html` and :func:`learner_rows_html`)
both come here, so the cell has one definition: :func:`_cell_of`. The same holds for a learner's comment cell (:func:`comment_html`, also the fragment
of ``comment.html``) and for a whole learner row of the view by learner (:func:`learner_rows_html`): with the
cells in Python, the Jinja of the rows around them (an include and a dozen expressions a row) had become a third
of the page.
"""

from __future__ import annotations

from markupsafe import Markup

from portal.competencies import rules
from portal.core.html import Html, ascii_content, ascii_text, feedback, text
from portal.i18n import current_language, gettext

# htmx attributes that are the same for every cell (hx-target and hx-include "closest td", hx-swap outerHTML) are
# set once on the grid's <table> and inherited; a select's default trigger is "change". What remains per cell is what
# differs: ids, the level, the version and the URL.
_EVALUATION_URL = "/competences/evaluations/"
_options: dict[str, dict[str, str]] = {}


def level_options(language: str | None = None) -> dict[str, str]:
    """The <option>s of a cell's select for each stored level ("" = not evaluated), built once per language."""
    language = language or current_language.get()
    cached = _options.get(language)
    if cached is None:
        choices = [("", "— " + gettext("non évalué"))] + [(lv.code, f"{lv.code} · {gettext(lv.label)}")
                                                          for lv in rules.LEVELS]
        # </option> may be left out before another option or </select> (HTML's optional end tags): 750 cells
        # a grid, 63 bytes each.
        cached = {chosen: "".join(f'<option value="{code}"{" selected" if code == chosen else ""}>'
                                  f"{ascii_content(label)}" for code, label in choices)
                  for chosen, _label in choices}
        _options[language] = cached
    return cached


def cell_html(cell, evaluation_id: int, error: str | None = None, notice: str | None = None) -> Markup:
    """One ``<td>`` of the grid: what the form showed (``avant-NODE``: level and version), the level select
    saved in place by htmx (or with the learner's row form ``f-LEARNER`` without JavaScript), and the error or
    notice of a save."""
    return Markup(_cell_of(str(int(cell.learner_id)), str(int(cell.node_id)), cell.level, cell.version,
                           f"{_EVALUATION_URL}{int(evaluation_id)}/cellules/", level_options(), error, notice))


def _cell_of(learner: str, node: str, level: str, version: int, cells_url: str, options: dict[str, str],
             error: str | None = None, notice: str | None = None) -> str:
    """The ``<td>`` of a cell from its parts, ``learner`` and ``node`` already as text.

    One hidden field carries what the form showed, ``LEVEL.VERSION`` (:func:`rules.parse_shown`), where two
    fields took 70 bytes more a cell. The cell's URL has no ``?vue=``: only htmx posts to it, and its answer is
    the cell, the same in both views."""
    level = level if level in rules.BY_CODE else ""
    css = rules.BY_CODE[level].css if level else "lvl-empty"
    invalid, extra = feedback(f"e-{learner}-{node}", error, notice, ascii_text)
    return (f'<td id="c-{learner}-{node}" class="cell {css}">'
            f'<input type="hidden" name="avant-{node}" value="{level}.{int(version)}" form="f-{learner}">'
            f'<select id="s-{learner}-{node}" name="niveau-{node}" form="f-{learner}" '
            f'aria-labelledby="lh-{learner} ch-{node}" hx-post="{cells_url}{learner}/{node}"{invalid}>'
            f'{options[level]}</select>{extra}</td>')


def row_html(grid, evaluation_id: int, errors: dict, *, learner_id: int | None = None,
             node_id: int | None = None) -> Html:
    """The cells of one row of the grid in one call: a learner's (view by learner) or a competency's (view by
    competency). One template call per row instead of one per cell, one string for the row."""
    if learner_id is not None:
        pairs = [(learner_id, comp.node_id) for comp in grid.competencies]
    else:
        pairs = [(learner.id, node_id) for learner in grid.learners]
    return Html(_cells(grid, pairs, f"{_EVALUATION_URL}{int(evaluation_id)}/cellules/", errors))


def _cells(grid, pairs: list[tuple[int, int]], cells_url: str, errors: dict) -> str:
    """The cells of ``pairs`` (learner, node), with the error of a refused save where there is one."""
    options, cells = level_options(), grid.cells
    parts = []
    for learner, node in pairs:
        cell = cells.get((learner, node))
        level, version = (cell.level, cell.version) if cell else ("", 0)
        parts.append(_cell_of(str(int(learner)), str(int(node)), level, version, cells_url, options,
                              errors.get((learner, node)) if errors else None))
    return "".join(parts)


def comment_html(learner, evaluation_id: int, error: str | None = None, notice: str | None = None) -> Markup:
    """The comment cell of a learner: saved in place (htmx, its own target and inclusion) or with the learner's
    row form ``f-LEARNER``; the error or notice of a save under it."""
    return Markup(_comment(learner, evaluation_id, error, notice, write=text))


def _comment(learner, evaluation_id: int, error: str | None = None, notice: str | None = None, *,
             write=ascii_text) -> str:
    lid, comment = int(learner.id), write(learner.comment)
    invalid, extra = feedback(f"ce-{lid}", error, notice, write)
    return (
        f'<td id="co-{lid}" class="comment">'
        f'<input type="hidden" name="commentaire_avant" value="{comment}" form="f-{lid}">'
        f'<input type="hidden" name="commentaire_version" value="{int(learner.comment_version)}" form="f-{lid}">'
        f'<label class="visually-hidden" for="t-{lid}">{write(gettext("Commentaire pour"))} '
        f'{write(learner.name)}</label>'
        f'<textarea id="t-{lid}" name="commentaire" form="f-{lid}" rows="2" maxlength="2000" '
        f'hx-post="{_EVALUATION_URL}{int(evaluation_id)}/commentaires/{lid}" hx-trigger="change" '
        f'hx-target="#co-{lid}" hx-swap="outerHTML" hx-include="#co-{lid}"{invalid}>{comment}</textarea>'
        f'{extra}</td>')


def learner_rows_html(grid, evaluation_id: int, vue: str, cell_errors: dict, comment_errors: dict,
                      csrf_token: str) -> Html:
    """The body rows of the view by learner: the learner's name, their cells, their comment and their row form
    (``f-LEARNER``, which saves the row without JavaScript)."""
    evaluation_id, vue = int(evaluation_id), ascii_text(vue)
    cells_url = f"{_EVALUATION_URL}{evaluation_id}/cellules/"
    save, of = ascii_text(gettext("Enregistrer la ligne")), ascii_text(gettext("de"))
    token = ascii_text(csrf_token)
    nodes = [comp.node_id for comp in grid.competencies]
    rows = []
    for learner in grid.learners:
        lid, name = int(learner.id), ascii_text(learner.name)
        rows.append(
            f'<tr id="ligne-{lid}"><th scope="row" id="lh-{lid}">{name}</th>'
            + _cells(grid, [(lid, node) for node in nodes], cells_url, cell_errors)
            + _comment(learner, evaluation_id, comment_errors.get(lid))
            + f'<td><form id="f-{lid}" method="post" action="{_EVALUATION_URL}{evaluation_id}/lignes/{lid}'
              f'?vue={vue}" class="row-form"><input type="hidden" name="_csrf_token" value="{token}">'
              f'<button type="submit" class="secondary small">{save}<span class="visually-hidden"> {of} {name}'
              f'</span></button></form></td></tr>')
    return Html("".join(rows))
