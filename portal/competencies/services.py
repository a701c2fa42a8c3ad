"""What scenarios, evaluations and grids of competency tracking share (SPEC §7; CERISE PRO guide §3.5–3.6, CPRO
guide §4): scope, errors, reading a form, framework trees and the learners of a school. The rules of each are in
:mod:`portal.competencies.scenarios`, :mod:`portal.competencies.evaluations`, :mod:`portal.competencies.grids`
(reading a grid) and :mod:`portal.competencies.grid_saves` (saving it).

Scope: everything belongs to the establishment acted for. A scenario is read by its author, by the school's
teachers unless it is private, and by the teachers of an establishment it was shared with; only its author edits,
deletes or shares it. An evaluation is read and its grid filled by the teachers of its establishment; its author
alone changes its settings (title, visibility, learners, competencies) or deletes it. A learner reads the
evaluations they are in that are visible, and nothing else. Out of scope is :class:`NotFound` (a 404: nothing
leaks); a teacher who may read but not change is :class:`NotAuthor` (a 403).

Every change is recorded in the history; editable records carry a version and a save based on a stale version is
refused (:class:`Stale`). A cell save is one short write transaction (read the cell, write it, record it).
No Litestar here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from portal.accounts.identity import CurrentUser
from portal.accounts.tables import Affiliation
from portal.competencies import rules
from portal.competencies.tables import ClassMember, Framework, FrameworkNode
from portal.core.forms import INCOMPLETE_FORM, form_int
from portal.permissions import Profile

if TYPE_CHECKING:  # a refused cell save carries the cell as it now stands
    from portal.competencies.grids import Cell

ID_MAX = 2**31 - 1
TITLE_MAX = 200
TEXT_MAX = 5000
SHORT_MAX = 120
COMMENT_MAX = 2000
STALE_RECORD = ("Cet enregistrement a été modifié par quelqu'un d'autre entre-temps : vos modifications n'ont pas "
                "été enregistrées. La page montre maintenant la version actuelle ; recommencez si nécessaire.")
STALE_CELL = ("Cette case a été modifiée par quelqu'un d'autre entre-temps : votre saisie n'a pas été enregistrée. "
              "Valeur actuelle : {current}.")
STALE_COMMENT = ("Ce commentaire a été modifié par quelqu'un d'autre entre-temps : votre saisie n'a pas été "
                 "enregistrée. Commentaire actuel : « {current} ».")
NOT_AUTHOR = "Seul l'auteur peut modifier, partager ou supprimer ce contenu."


class NotFound(Exception):
    """Unknown, or outside the person's scope (shown as a 404)."""


class NotAuthor(Exception):
    """Readable by the person, but only its author may change it (403)."""


class Invalid(Exception):
    """A form refused; ``messages`` in French (400)."""

    def __init__(self, messages: list[str]):
        super().__init__("\n".join(messages))
        self.messages = messages


class Stale(Exception):
    """A save based on a version that is no longer the current one (409). Nothing changed."""

    def __init__(self, message: str, cell: Cell | None = None):
        super().__init__(message)
        self.message = message
        self.cell = cell


class FormData(Protocol):
    """What the services read of a submitted form (Litestar's FormMultiDict, or a test's fake)."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def getall(self, key: str) -> list: ...


def school_of(user: CurrentUser) -> int:
    """The establishment acted for; none means nothing is in scope."""
    establishment_id = user.active.establishment_id if user.active else None
    if not establishment_id:
        raise NotFound("aucun établissement")
    return establishment_id


def form_values(form: FormData, key: str) -> list:
    """Every value of a repeated field (none when absent: multidict raises KeyError)."""
    try:
        return list(form.getall(key))
    except KeyError:
        return []


def parse_id(raw: Any) -> int | None:
    """An id typed or sent by a form (digits, within the column's range), or None."""
    text = str(raw if raw is not None else "").strip()
    if text.isdigit() and len(text) <= 10 and 0 < int(text) <= ID_MAX:
        return int(text)
    return None


def parse_ids(values: list) -> list[int]:
    """The ids among ``values``, each once, in their order; the others are dropped."""
    result: list[int] = []
    for value in values:
        ident = parse_id(value)
        if ident is not None and ident not in result:
            result.append(ident)
    return result


def clean_text(raw: Any, maximum: int, name: str, errors: list[str], required: bool = False,
               one_line: bool = True) -> str:
    """A text field trimmed (on one line unless ``one_line`` is False); what is wrong with it goes in ``errors``,
    in French, named by ``name``."""
    value = str(raw or "")
    value = " ".join(value.split()) if one_line else value.replace("\r\n", "\n").strip()
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in value):
        errors.append(f"{name} : caractères de contrôle interdits.")
    if required and not value:
        errors.append(f"{name} : à renseigner.")
    if len(value) > maximum:
        errors.append(f"{name} : {maximum} caractères au plus ({len(value)} saisis).")
    return value


def parse_version(raw: Any) -> int:
    """The version a form carries; missing or garbled is refused."""
    version = form_int(raw)
    if version is None:
        raise Invalid([INCOMPLETE_FORM])
    return version


# --- frameworks ------------------------------------------------------------------------------------------------


@dataclass
class Node:
    """A framework node as the pickers and grids show it."""

    id: int
    code: str
    label: str
    depth: int
    is_leaf: bool
    parent_id: int | None
    complexities: list[str]
    hazards: list[str]
    level_name: str = ""


@dataclass
class Tree:
    """One framework version with its nodes in tree order."""

    id: int
    code: str
    version: str
    title: str
    diploma: str
    levels: list[str]
    nodes: list[Node]

    @property
    def leaves(self) -> dict[int, Node]:
        """Leaves by id."""
        return {node.id: node for node in self.nodes if node.is_leaf}

    @property
    def roots(self) -> list[Node]:
        """Top-level nodes."""
        return [node for node in self.nodes if node.parent_id is None]

    def children(self, node_id: int) -> list[Node]:
        """Direct children of a node, in order."""
        return [node for node in self.nodes if node.parent_id == node_id]


async def current_frameworks() -> list[dict]:
    """The newest version of each framework code (what new scenarios and evaluations use)."""
    rows = await Framework.select(Framework.id, Framework.code, Framework.version, Framework.title,
                                  Framework.diploma).order_by(Framework.id)
    latest: dict[str, dict] = {}
    for row in rows:
        latest[row["code"]] = row
    return sorted(latest.values(), key=lambda r: r["title"])


async def framework_tree(framework_id: int) -> Tree:
    """A framework version with its nodes (two queries)."""
    meta = await Framework.select().where(Framework.id == framework_id).first()
    if not meta:
        raise NotFound(framework_id)
    levels = rules.options(meta["levels"])
    rows = await FrameworkNode.select().where(FrameworkNode.framework == framework_id).order_by(FrameworkNode.position)
    nodes = [Node(id=r["id"], code=r["code"], label=r["label"], depth=r["depth"], is_leaf=r["is_leaf"],
                  parent_id=r["parent"], complexities=rules.options(r["complexities"]),
                  hazards=rules.options(r["hazards"]),
                  level_name=levels[r["depth"]] if r["depth"] < len(levels) else "") for r in rows]
    return Tree(id=meta["id"], code=meta["code"], version=meta["version"], title=meta["title"],
                diploma=meta["diploma"], levels=levels, nodes=nodes)


@dataclass
class Selected:
    """A competency chosen with its complexities and aléas."""

    node_id: int
    complexities: list[str] = field(default_factory=list)
    hazards: list[str] = field(default_factory=list)


def parse_selection(form: FormData, tree: Tree, errors: list[str]) -> list[Selected]:
    """The competencies ticked in a tree picker (``competence``), each with its ticked complexities (``cx-ID``) and
    aléas (``al-ID``); only leaves of ``tree`` and options it offers are kept, in tree order."""
    wanted = set(parse_ids(form_values(form, "competence")))
    leaves = tree.leaves
    unknown = wanted - set(leaves)
    if unknown:
        errors.append("Une compétence choisie n'appartient pas à ce référentiel : rechargez la page.")
    return [Selected(node.id, rules.chosen(node.complexities, [str(v) for v in form_values(form, f"cx-{node.id}")]),
                     rules.chosen(node.hazards, [str(v) for v in form_values(form, f"al-{node.id}")]))
            for node in tree.nodes if node.id in wanted and node.is_leaf]


# --- learners of the establishment ----------------------------------------------------------------------------


@dataclass
class LearnerChoice:
    """A learner account of the establishment, with its class."""

    id: int
    first_name: str
    last_name: str
    class_name: str

    @property
    def name(self) -> str:
        """Name then first name, as lists show them."""
        return f"{self.last_name} {self.first_name}"


async def school_learners(school: int) -> list[LearnerChoice]:
    """Accounts with a current learner affiliation in ``school``, with their class (two queries)."""
    rows = await Affiliation.select(Affiliation.account, Affiliation.account.first_name,
                                    Affiliation.account.last_name).where(
        (Affiliation.establishment == school) & (Affiliation.profile == Profile.LEARNER.value)
        & Affiliation.revoked_at.is_null())
    classes = {r["account"]: r["class_name"] for r in await ClassMember.select(
        ClassMember.account, ClassMember.class_name).where(ClassMember.establishment == school)}
    seen: dict[int, LearnerChoice] = {}
    for r in rows:
        seen[r["account"]] = LearnerChoice(r["account"], r["account.first_name"], r["account.last_name"],
                                           classes.get(r["account"], ""))
    return sorted(seen.values(), key=lambda c: (c.class_name or "~", c.last_name.lower(), c.first_name.lower()))


def class_names(learners: list[LearnerChoice]) -> list[str]:
    """The classes of a list of learners, in order."""
    return sorted({c.class_name for c in learners if c.class_name})


def pick_learners(form: FormData, learners: list[LearnerChoice]) -> list[int]:
    """The learners ticked (``apprenant``) plus the members of the classes chosen (``classe``), of the school."""
    allowed = {c.id for c in learners}
    picked = [i for i in parse_ids(form_values(form, "apprenant")) if i in allowed]
    for name in form_values(form, "classe"):
        picked.extend(c.id for c in learners if name and c.class_name == name and c.id not in picked)
    return picked


# --- competencies of a scenario or an evaluation ----------------------------------------------------------------


async def write_competencies(table, owner_column, owner_id: int, selection: list[Selected]) -> None:
    """Replace the competencies of a scenario or an evaluation (``owner_column`` = ``owner_id``) by
    ``selection``, in its order."""
    await table.delete().where(owner_column == owner_id)
    if selection:
        await table.insert(*[table(**{owner_column._meta.name: owner_id}, node=sel.node_id, position=i,
                                   complexities=rules.dump(sel.complexities), hazards=rules.dump(sel.hazards))
                             for i, sel in enumerate(selection)])
