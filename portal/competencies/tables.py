"""Piccolo tables of the competencies domain (SPEC §7): frameworks, classes, scenarios, evaluations, grid cells.

Lists of complexities and aléas are stored as JSON text (a short list of strings, read and written whole).
A framework version is never rewritten: scenarios and evaluations point at the nodes of the version they used.
"""

from __future__ import annotations

from piccolo.columns import Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from portal.accounts.tables import Account
from portal.directory.tables import Establishment
from portal.documents.tables import StoredDocument


class Framework(Table, tablename="cmp_framework"):
    """One version of a diploma's référentiel, loaded from a data file (code + version are unique together)."""

    code = Varchar(length=40, index=True)
    version = Varchar(length=20)
    title = Varchar(length=255)
    diploma = Varchar(length=120, default="")
    levels = Text(default="[]")  # JSON list of the level names, from the root down
    sha256 = Varchar(length=64)  # of the file's content: reloading the same version is a no-op
    note = Text(default="")  # what the file says of its sources and what is invented
    loaded_at = Timestamptz()
    demo = Boolean(default=False)


class FrameworkNode(Table, tablename="cmp_node"):
    """A node of a framework's tree; a leaf (compétence / tâche) carries its possible complexities and aléas."""

    framework = ForeignKey(references=Framework, index=True)
    parent = ForeignKey(references="self", null=True, default=None)
    code = Varchar(length=40)
    label = Text()
    depth = Integer(default=0)
    position = Integer(default=0)  # pre-order position in the whole tree: ORDER BY position gives the tree
    is_leaf = Boolean(default=False)
    complexities = Text(default="[]")
    hazards = Text(default="[]")


class ClassMember(Table, tablename="cmp_class_member"):
    """A learner account in a class (division) of an establishment, used to pick learners by class."""

    establishment = ForeignKey(references=Establishment, index=True)
    account = ForeignKey(references=Account, index=True)
    class_name = Varchar(length=80)


class Scenario(Table, tablename="cmp_scenario"):
    """A teacher's pedagogical scenario: private (author only) or shared with the school's team."""

    establishment = ForeignKey(references=Establishment, index=True)
    author = ForeignKey(references=Account, index=True)
    framework = ForeignKey(references=Framework)
    title = Varchar(length=200)
    private = Boolean(default=False)
    context = Text(default="")
    materials = Text(default="")
    links = Text(default="")
    resources = Text(default="")
    diploma = Varchar(length=120, default="")
    class_level = Varchar(length=80, default="")
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    demo = Boolean(default=False)


class ScenarioCompetency(Table, tablename="cmp_scenario_competency"):
    """A competency of a scenario, with the complexities and aléas chosen for it."""

    scenario = ForeignKey(references=Scenario, index=True)
    node = ForeignKey(references=FrameworkNode)
    position = Integer(default=0)
    complexities = Text(default="[]")
    hazards = Text(default="[]")


class ScenarioShare(Table, tablename="cmp_scenario_share"):
    """A scenario shared with another establishment (read and duplicate there)."""

    scenario = ForeignKey(references=Scenario, index=True)
    establishment = ForeignKey(references=Establishment, index=True)
    shared_by = ForeignKey(references=Account)
    shared_at = Timestamptz()


class ScenarioFile(Table, tablename="cmp_scenario_file"):
    """A PDF or ZIP attached to a scenario; the bytes are a stored document."""

    scenario = ForeignKey(references=Scenario, index=True)
    document = ForeignKey(references=StoredDocument)
    filename = Varchar(length=120)
    media_type = Varchar(length=60)
    size = Integer()
    added_by = ForeignKey(references=Account)
    added_at = Timestamptz()


class Evaluation(Table, tablename="cmp_evaluation"):
    """An evaluation (grille de positionnement): learners × competencies, visible to learners or not."""

    establishment = ForeignKey(references=Establishment, index=True)
    author = ForeignKey(references=Account, index=True)
    scenario = ForeignKey(references=Scenario, null=True, default=None)
    framework = ForeignKey(references=Framework)
    title = Varchar(length=200)
    visible = Boolean(default=False)
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    demo = Boolean(default=False)


class EvaluationLearner(Table, tablename="cmp_evaluation_learner"):
    """A learner of an evaluation, with the teacher's comment on them."""

    evaluation = ForeignKey(references=Evaluation, index=True)
    learner = ForeignKey(references=Account, index=True)
    comment = Text(default="")
    comment_version = Integer(default=0)


class EvaluationCompetency(Table, tablename="cmp_evaluation_competency"):
    """A competency of an evaluation, in the order the teacher chose, with complexities and aléas."""

    evaluation = ForeignKey(references=Evaluation, index=True)
    node = ForeignKey(references=FrameworkNode)
    position = Integer(default=0)
    complexities = Text(default="[]")
    hazards = Text(default="[]")


class GridCell(Table, tablename="cmp_grid_cell"):
    """One cell of a grid: the level of a learner for a competency of an evaluation (unique per triple).

    A cell is kept when its learner or competency leaves the evaluation: bringing them back brings the level back.
    """

    evaluation = ForeignKey(references=Evaluation, index=True)
    learner = ForeignKey(references=Account)
    node = ForeignKey(references=FrameworkNode)
    level = Varchar(length=1, default="")
    version = Integer(default=1)
    updated_by = ForeignKey(references=Account, null=True)
    updated_at = Timestamptz()
