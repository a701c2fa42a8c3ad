"""Pure rules of competency tracking: framework files (format, faults named), grid levels, cell version rule,
ordering."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.competencies import frameworks, rules

GOOD = """
format = 1
[framework]
code = "TEST"
version = "1"
title = "Référentiel de test"
levels = ["Pôle", "Situation", "Compétence"]
complexities = ["Défaut"]
[[nodes]]
code = "P1"
label = "Pôle 1"
  [[nodes.children]]
  code = "S1"
  label = "Situation 1"
    [[nodes.children.children]]
    code = "C1"
    label = "Compétence 1"
    hazards = ["Aléa A", "Aléa B"]
    [[nodes.children.children]]
    code = "C2"
    label = "Compétence 2"
  [[nodes.children]]
  code = "C3"
  label = "Compétence directement sous le pôle"
"""


def test_demo_framework_has_the_melec_tasks_of_the_cpro_guide():
    spec = frameworks.read_framework(frameworks.DEMO_FILE)
    codes = [leaf.code for leaf in spec.leaves]
    assert codes == ["T1-1", "T1-2", "T1-3", "T1-4", "T2-1", "T2-2", "T2-3", "T2-4", "T2-5", "T2-6",
                     "T3-1", "T3-2", "T4-1", "T4-2", "T5-1", "T5-2", "T5-3"]
    assert [node.code for node in spec.nodes] == ["A1", "A2", "A3", "A4", "A5"]
    assert spec.levels == ("Activité", "Tâche") and spec.demo
    assert all(leaf.complexities and leaf.hazards for leaf in spec.leaves)
    assert "INVENTÉS" in frameworks.DEMO_FILE.read_text()


def test_any_depth_defaults_and_tree_order():
    spec = frameworks.parse_framework(GOOD)
    assert [(n.code, p) for n, p in spec.walk()] == [("P1", None), ("S1", "P1"), ("C1", "S1"), ("C2", "S1"),
                                                     ("C3", "P1")]
    leaves = {leaf.code: leaf for leaf in spec.leaves}
    assert leaves["C1"].hazards == ("Aléa A", "Aléa B") and leaves["C1"].complexities == ("Défaut",)
    assert leaves["C2"].complexities == ("Défaut",) and leaves["C2"].hazards == ()
    assert spec.sha256 and len(spec.sha256) == 64


@pytest.mark.parametrize(("content", "expected"), [
    ("format = 1\n[framework\ncode = 'A'\n", "syntaxe TOML invalide"),
    (GOOD.replace('code = "C2"', 'code = "C1"'), "nodes[0].children[0].children[1].code : « C1 » est déjà le code"),
    (GOOD.replace('label = "Compétence 2"', 'label = 42'), "nodes[0].children[0].children[1].label : doit être un texte"),
    (GOOD.replace('format = 1', 'format = 2'), "format : doit valoir 1"),
    (GOOD.replace('version = "1"\n', ''), "framework.version : clé obligatoire absente"),
    (GOOD.replace('levels = ["Pôle", "Situation", "Compétence"]', 'levels = ["Pôle", "Situation"]'),
     "nodes[0].children[0].children[0] : profondeur 3"),
    (GOOD.replace('  code = "S1"', '  code = "S1"\n  hazards = ["x"]'), "nodes[0].children[0].hazards : seules les feuilles"),
    (GOOD.replace('hazards = ["Aléa A", "Aléa B"]', 'hazards = "Aléa"'), "nodes[0].children[0].children[0].hazards : doit être une liste"),
    (GOOD.replace('  code = "C3"', '  code = "C3"\n  couleur = "rouge"'), "nodes[0].children[1].couleur : clé inconnue"),
    (GOOD.replace('code = "TEST"', 'code = "TE ST"'), "framework.code : « TE ST »"),
    (GOOD.split("[[nodes]]")[0], "nodes : au moins un nœud racine"),
])
def test_malformed_files_are_refused_with_faults_named(content, expected):
    with pytest.raises(frameworks.FrameworkFileError) as error:
        frameworks.parse_framework(content, source="essai.toml")
    assert any(expected in message for message in error.value.messages), error.value.messages
    assert all(message.startswith("essai.toml") for message in error.value.messages)


def test_every_fault_is_listed_not_only_the_first():
    content = GOOD.replace('title = "Référentiel de test"\n', '').replace('label = "Pôle 1"', 'label = ""')
    with pytest.raises(frameworks.FrameworkFileError) as error:
        frameworks.parse_framework(content)
    assert len(error.value.messages) == 2


def test_non_utf8_is_refused():
    with pytest.raises(frameworks.FrameworkFileError, match="UTF-8"):
        frameworks.parse_framework(GOOD.encode("utf-16"))


def test_six_levels_each_with_a_unique_letter_and_words():
    assert [level.label for level in rules.LEVELS] == [
        "Réussite totale", "Réussite partielle", "En cours d'acquisition", "Trop d'erreurs", "Non évaluable",
        "Absent"]
    assert len({level.code for level in rules.LEVELS}) == 6 and len({level.css for level in rules.LEVELS}) == 6
    assert rules.parse_level(" r ") == "R" and rules.parse_level("") == ""
    with pytest.raises(rules.GridRuleError):
        rules.parse_level("X")
    assert rules.level_label("") == "Non évalué"


def test_cell_version_rule():
    # unchanged by the person: nothing to do, even on an old version
    assert rules.plan_cell("E", 3, "R", "R", 1) == rules.CellPlan(False, False, "E")
    # the value already stored: nothing to do
    assert rules.plan_cell("E", 3, "E", "R", 1) == rules.CellPlan(False, False, "E")
    # a change on the current version is written
    assert rules.plan_cell("E", 3, "A", "E", 3) == rules.CellPlan(True, False, "A")
    # a change based on an older version is stale and shows the current value
    assert rules.plan_cell("E", 3, "A", "R", 2) == rules.CellPlan(False, True, "E")
    # a cell never saved has version 0
    assert rules.plan_cell("", 0, "P", "", 0).write


@given(st.sampled_from(["", *rules.CODES]), st.integers(0, 10**9 - 1))
def test_what_a_cell_showed_reads_back_as_written(level, version):
    assert rules.parse_shown(f"{level}.{version}") == (level, version)
    assert rules.parse_shown(f" {level.lower()}.{version} ") == (level, version)


@pytest.mark.parametrize("raw", [None, "", "R", "R.", ".x", "R.-1", "R.1.2", "X.1", "R.1234567890"])
def test_what_a_cell_showed_refused_when_malformed(raw):
    with pytest.raises(rules.GridRuleError, match="formulaire est incomplet|Niveau inconnu"):
        rules.parse_shown(raw)


@given(st.lists(st.integers(), min_size=1, max_size=8), st.data())
def test_move_is_a_permutation_of_one_step(items, data):
    index = data.draw(st.integers(0, len(items) - 1))
    direction = data.draw(st.sampled_from(["up", "down", "sideways"]))
    moved = rules.move(items, index, direction)
    assert sorted(moved) == sorted(items)
    if direction == "up" and index > 0:
        assert moved[index - 1] == items[index]
    elif direction == "down" and index < len(items) - 1:
        assert moved[index + 1] == items[index]
    else:
        assert moved == items


def test_chosen_options_keep_framework_order_and_drop_unknown():
    assert rules.chosen(["a", "b", "c"], ["c", "x", "a"]) == ["a", "c"]
    assert rules.options('["a", 1]') == ["a"] and rules.options("not json") == []
