"""The grid's markup written in Python (``portal.competencies.cells``): the row loop writes each cell as
the one-cell function does, the bulk rows are ASCII, and text is escaped."""

from __future__ import annotations

from html import unescape
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from portal.competencies import cells, rules
from portal.competencies.grids import Cell

_levels = st.sampled_from(["", "?", *rules.BY_CODE])


@given(st.lists(st.tuples(st.integers(1, 50), st.integers(1, 50), _levels, st.integers(0, 9)), max_size=20),
       st.sets(st.tuples(st.integers(1, 50), st.integers(1, 50)), max_size=3))
def test_fast_path_writes_what_the_one_cell_function_writes(stored, with_error):
    grid = SimpleNamespace(cells={(l, n): Cell(l, n, level, version) for l, n, level, version in stored})
    pairs = sorted({(l, n) for l, n, _level, _version in stored} | with_error)
    errors = {pair: "Niveau « inconnu »." for pair in with_error}
    expected = "".join(
        cells._cell_of(str(l), str(n), grid.cells[l, n].level if (l, n) in grid.cells else "",
                       grid.cells[l, n].version if (l, n) in grid.cells else 0, "/e/1/cellules/",
                       cells.level_options(), errors.get((l, n)))
        for l, n in pairs)
    assert cells._cells(grid, pairs, "/e/1/cellules/", errors) == expected


def test_rows_are_ascii_and_escape_names_and_comments():
    learner = SimpleNamespace(id=7, first_name="Léo", last_name="<Faure>", comment="Très bien & « net »",
                              comment_version=2, name="<Faure> Léo")
    competency = SimpleNamespace(node_id=3)
    grid = SimpleNamespace(learners=[learner], competencies=[competency], cells={(7, 3): Cell(7, 3, "R", 1)})
    html = str(cells.learner_rows_html(grid, 1, "apprenants", {}, {}, "jeton"))
    assert html.isascii()
    assert "<Faure>" not in html and "&lt;Faure&gt; L&#233;o" in html
    assert unescape(html).count("Très bien & « net »") == 2  # the textarea and the previous value
    assert 'class="cell lvl-r"' in html and '<option value="R" selected>' in html
    assert 'name="avant-3" value="R.1"' in html and "En cours d'acquisition" in html  # no &#39; in text

