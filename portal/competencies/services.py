"""Scenarios, evaluations and grids of competency tracking (SPEC §7; CERISE PRO guide §3.5–3.6, CPRO guide §4).

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

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from portal.accounts.identity import CurrentUser
from portal.accounts.tables import Affiliation
from portal.competencies import rules
from portal.competencies.tables import (
    ClassMember,
    Evaluation,
    EvaluationCompetency,
    EvaluationLearner,
    Framework,
    FrameworkNode,
    GridCell,
    Scenario,
    ScenarioCompetency,
    ScenarioFile,
    ScenarioShare,
)
from portal.core.clock import now
from portal.core.db import atomic, is_sqlite
from portal.core.forms import INCOMPLETE_FORM, form_version
from portal.directory.tables import Establishment
from portal.history.services import record
from portal.permissions import Profile

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


def _all(form: FormData, key: str) -> list:
    """Every value of a repeated field (none when absent: multidict raises KeyError)."""
    try:
        return list(form.getall(key))
    except KeyError:
        return []


def _id(raw: Any) -> int | None:
    text = str(raw if raw is not None else "").strip()
    if text.isdigit() and len(text) <= 10 and 0 < int(text) <= ID_MAX:
        return int(text)
    return None


def _ids(values: list) -> list[int]:
    result: list[int] = []
    for value in values:
        ident = _id(value)
        if ident is not None and ident not in result:
            result.append(ident)
    return result


def _text(raw: Any, maximum: int, name: str, errors: list[str], required: bool = False, one_line: bool = True) -> str:
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
    version = form_version(raw)
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
    wanted = set(_ids(_all(form, "competence")))
    leaves = tree.leaves
    unknown = wanted - set(leaves)
    if unknown:
        errors.append("Une compétence choisie n'appartient pas à ce référentiel : rechargez la page.")
    return [Selected(node.id, rules.chosen(node.complexities, [str(v) for v in _all(form, f"cx-{node.id}")]),
                     rules.chosen(node.hazards, [str(v) for v in _all(form, f"al-{node.id}")]))
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
    picked = [i for i in _ids(_all(form, "apprenant")) if i in allowed]
    for name in _all(form, "classe"):
        picked.extend(c.id for c in learners if name and c.class_name == name and c.id not in picked)
    return picked


# --- scenarios ------------------------------------------------------------------------------------------------


@dataclass
class ScenarioInput:
    """A checked scenario form."""

    title: str
    private: bool
    context: str
    materials: str
    links: str
    resources: str
    diploma: str
    class_level: str
    framework_id: int
    competencies: list[Selected]


_URL = re.compile(r"^https?://[^\s<>\"']+$")


async def parse_scenario(form: FormData) -> tuple[ScenarioInput, Tree]:
    """Check a scenario form (every fault listed in :class:`Invalid`)."""
    errors: list[str] = []
    title = _text(form.get("titre"), TITLE_MAX, "Titre", errors, required=True)
    links = _text(form.get("liens"), TEXT_MAX, "Liens", errors, one_line=False)
    for line in filter(None, (line.strip() for line in links.splitlines())):
        if not _URL.match(line):
            errors.append(f"Liens : « {line[:60]} » n'est pas une adresse http:// ou https:// (une par ligne).")
    framework_id = _id(form.get("referentiel"))
    if framework_id is None:
        raise Invalid(errors + ["Référentiel : à choisir."])
    tree = await framework_tree(framework_id)
    data = ScenarioInput(
        title=title, private=str(form.get("prive") or "") in {"1", "on", "oui"},
        context=_text(form.get("contexte"), TEXT_MAX, "Contexte", errors, one_line=False),
        materials=_text(form.get("materiels"), TEXT_MAX, "Matériels et logiciels", errors, one_line=False),
        links=links, resources=_text(form.get("ressources"), TEXT_MAX, "Ressources", errors, one_line=False),
        diploma=_text(form.get("diplome") or tree.diploma, SHORT_MAX, "Diplôme", errors),
        class_level=_text(form.get("niveau"), SHORT_MAX, "Niveau de classe", errors),
        framework_id=framework_id, competencies=parse_selection(form, tree, errors),
    )
    if errors:
        raise Invalid(errors)
    return data, tree


async def visible_scenarios(user: CurrentUser) -> list[dict]:
    """Scenarios the person may read: own, shared with the team, shared with the school (one query)."""
    school = school_of(user)
    shared_here = ScenarioShare.select(ScenarioShare.scenario).where(ScenarioShare.establishment == school)
    rows = await Scenario.select(
        Scenario.id, Scenario.title, Scenario.private, Scenario.class_level, Scenario.diploma, Scenario.author,
        Scenario.establishment, Scenario.updated_at, Scenario.author.first_name, Scenario.author.last_name,
        Scenario.establishment.name, Scenario.demo,
    ).where(
        (Scenario.author == user.account_id)
        | ((Scenario.establishment == school) & (Scenario.private == False))
        | (Scenario.id.is_in(shared_here) & (Scenario.private == False))
    ).order_by(Scenario.class_level).order_by(Scenario.title)
    for row in rows:
        row["own"] = row["author"] == user.account_id
        row["elsewhere"] = row["establishment"] != school
    return rows


@dataclass
class ScenarioView:
    """A scenario with its competencies, files and shares, and what the person may do with it."""

    row: dict
    tree: Tree
    competencies: list[tuple[Node, Selected]]
    files: list[dict]
    shares: list[dict]
    own: bool

    @property
    def selected(self) -> dict[int, Selected]:
        """Chosen competencies by node id (for the edit form)."""
        return {sel.node_id: sel for _node, sel in self.competencies}


async def _readable_scenario(user: CurrentUser, scenario_id: int) -> dict:
    if not 0 < scenario_id <= ID_MAX:
        raise NotFound(scenario_id)
    school = school_of(user)
    row = await Scenario.select(Scenario.all_columns(), Scenario.author.first_name, Scenario.author.last_name,
                                Scenario.establishment.name).where(Scenario.id == scenario_id).first()
    if not row:
        raise NotFound(scenario_id)
    if row["author"] == user.account_id:
        return row
    if row["establishment"] == school and not row["private"]:
        return row
    if not row["private"] and await ScenarioShare.exists().where(
            (ScenarioShare.scenario == scenario_id) & (ScenarioShare.establishment == school)):
        return row
    raise NotFound(scenario_id)


async def _own_scenario(user: CurrentUser, scenario_id: int) -> dict:
    row = await _readable_scenario(user, scenario_id)
    if row["author"] != user.account_id:
        raise NotAuthor(NOT_AUTHOR)
    return row


async def scenario_view(user: CurrentUser, scenario_id: int) -> ScenarioView:
    """A scenario the person may read (:class:`NotFound` otherwise)."""
    row = await _readable_scenario(user, scenario_id)
    tree = await framework_tree(row["framework"])
    chosen = await ScenarioCompetency.select().where(ScenarioCompetency.scenario == scenario_id).order_by(
        ScenarioCompetency.position)
    by_id = {node.id: node for node in tree.nodes}
    competencies = [(by_id[c["node"]], Selected(c["node"], rules.options(c["complexities"]),
                                                rules.options(c["hazards"]))) for c in chosen if c["node"] in by_id]
    files = await ScenarioFile.select(ScenarioFile.id, ScenarioFile.filename, ScenarioFile.media_type,
                                      ScenarioFile.size, ScenarioFile.added_at).where(
        ScenarioFile.scenario == scenario_id).order_by(ScenarioFile.id)
    shares = await ScenarioShare.select(ScenarioShare.id, ScenarioShare.establishment.name,
                                        ScenarioShare.establishment.uai, ScenarioShare.establishment.fase).where(
        ScenarioShare.scenario == scenario_id).order_by(ScenarioShare.id)
    return ScenarioView(row=row, tree=tree, competencies=competencies, files=files, shares=shares,
                        own=row["author"] == user.account_id)


def _scenario_values(data: ScenarioInput) -> dict:
    return {"title": data.title, "private": data.private, "context": data.context, "materials": data.materials,
            "links": data.links, "resources": data.resources, "diploma": data.diploma,
            "class_level": data.class_level, "framework": data.framework_id}


async def _write_competencies(table, owner_column, owner_id: int, selection: list[Selected]) -> None:
    await table.delete().where(owner_column == owner_id)
    if selection:
        await table.insert(*[table(**{owner_column._meta.name: owner_id}, node=sel.node_id, position=i,
                                   complexities=rules.dump(sel.complexities), hazards=rules.dump(sel.hazards))
                             for i, sel in enumerate(selection)])


async def create_scenario(user: CurrentUser, data: ScenarioInput, demo: bool = False) -> int:
    """Create a scenario of the establishment acted for, authored by the person; returns its id."""
    school = school_of(user)
    stamp = now()
    async with atomic():
        inserted = await Scenario.insert(Scenario(
            establishment=school, author=user.account_id, created_at=stamp, updated_at=stamp, version=1, demo=demo,
            **_scenario_values(data),
        )).returning(Scenario.id)
        scenario_id = inserted[0]["id"]
        await _write_competencies(ScenarioCompetency, ScenarioCompetency.scenario, scenario_id, data.competencies)
        await record(user.actor, "cmp_scenario", scenario_id, "création",
                     after={**_scenario_values(data), "competencies": [s.node_id for s in data.competencies]},
                     summary=f"Scénario « {data.title} » créé")
    return scenario_id


async def update_scenario(user: CurrentUser, scenario_id: int, data: ScenarioInput, version: Any) -> None:
    """Change a scenario (author only), refusing a stale version."""
    expected = parse_version(version)
    async with atomic():
        row = await _own_scenario(user, scenario_id)
        if row["version"] != expected:
            raise Stale(STALE_RECORD)
        values = _scenario_values(data)
        changed = await Scenario.update({**{getattr(Scenario, k): v for k, v in values.items()},
                                         Scenario.version: expected + 1, Scenario.updated_at: now()}).where(
            (Scenario.id == scenario_id) & (Scenario.version == expected)).returning(Scenario.id)
        if not changed:
            raise Stale(STALE_RECORD)
        await _write_competencies(ScenarioCompetency, ScenarioCompetency.scenario, scenario_id, data.competencies)
        await record(user.actor, "cmp_scenario", scenario_id, "modification",
                     before={k: row[k] for k in values} | {"version": expected},
                     after={**values, "version": expected + 1,
                            "competencies": [s.node_id for s in data.competencies]},
                     summary=f"Scénario « {data.title} » modifié")


async def delete_scenario(user: CurrentUser, scenario_id: int) -> str:
    """Delete a scenario (author only) with its competencies, shares and files; evaluations made from it stay."""
    async with atomic():
        row = await _own_scenario(user, scenario_id)
        await Evaluation.update({Evaluation.scenario: None}).where(Evaluation.scenario == scenario_id)
        await ScenarioCompetency.delete().where(ScenarioCompetency.scenario == scenario_id)
        await ScenarioShare.delete().where(ScenarioShare.scenario == scenario_id)
        await ScenarioFile.delete().where(ScenarioFile.scenario == scenario_id)
        await Scenario.delete().where(Scenario.id == scenario_id)
        await record(user.actor, "cmp_scenario", scenario_id, "suppression",
                     before={"title": row["title"], "version": row["version"]},
                     summary=f"Scénario « {row['title']} » supprimé")
    return row["title"]


async def duplicate_scenario(user: CurrentUser, scenario_id: int, title: Any, class_level: Any) -> int:
    """A copy of a readable scenario under a new name and class level, authored by the person, in their school."""
    errors: list[str] = []
    new_title = _text(title, TITLE_MAX, "Nom du nouveau scénario", errors, required=True)
    level = _text(class_level, SHORT_MAX, "Niveau", errors)
    view = await scenario_view(user, scenario_id)
    if errors:
        raise Invalid(errors)
    row = view.row
    data = ScenarioInput(title=new_title, private=row["private"], context=row["context"],
                         materials=row["materials"], links=row["links"], resources=row["resources"],
                         diploma=row["diploma"], class_level=level, framework_id=row["framework"],
                         competencies=[sel for _n, sel in view.competencies])
    new_id = await create_scenario(user, data)
    await record(user.actor, "cmp_scenario", new_id, "duplication", after={"from": scenario_id},
                 summary=f"Scénario « {new_title} » dupliqué de « {row['title']} »")
    return new_id


async def share_scenario(user: CurrentUser, scenario_id: int, code: Any) -> str:
    """Share a scenario (author only) with another establishment given by its UAI or FASE number."""
    text = " ".join(str(code or "").split()).upper()
    if not text or len(text) > 20:
        raise Invalid(["Établissement : indiquez son numéro UAI (ex. 0219999Z) ou FASE."])
    async with atomic():
        row = await _own_scenario(user, scenario_id)
        if row["private"]:
            raise Invalid(["Un scénario privé ne se partage pas : décochez « Privé » d'abord."])
        target = await Establishment.select(Establishment.id, Establishment.name).where(
            (Establishment.uai == text) | (Establishment.fase == text)).first()
        if not target:
            raise Invalid([f"Aucun établissement ne porte le numéro « {text} »."])
        if target["id"] == row["establishment"]:
            raise Invalid(["Le scénario est déjà partagé avec l'équipe de votre établissement."])
        if await ScenarioShare.exists().where((ScenarioShare.scenario == scenario_id)
                                              & (ScenarioShare.establishment == target["id"])):
            return target["name"]
        await ScenarioShare.insert(ScenarioShare(scenario=scenario_id, establishment=target["id"],
                                                 shared_by=user.account_id, shared_at=now()))
        await record(user.actor, "cmp_scenario", scenario_id, "partage", after={"establishment": target["id"]},
                     summary=f"Scénario « {row['title']} » partagé avec {target['name']}")
    return target["name"]


# --- attachments ------------------------------------------------------------------------------------------------

FILE_MAX = 10 * 1024 * 1024
FILES_PER_SCENARIO = 20
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def check_attachment(filename: str, content: bytes) -> tuple[str, str]:
    """(safe file name, media type) of an attachment checked by its content: a PDF or a ZIP of 10 Mo at most."""
    import io
    import zipfile

    import filetype

    if not content:
        raise Invalid(["Le fichier est vide."])
    if len(content) > FILE_MAX:
        raise Invalid([f"Le fichier dépasse {FILE_MAX // (1024 * 1024)} Mo."])
    kind = filetype.guess(content[:8192])
    mime = kind.mime if kind else ""
    if mime == "application/pdf" and content.startswith(b"%PDF-"):
        media, extension = "application/pdf", ".pdf"
    elif mime == "application/zip" and zipfile.is_zipfile(io.BytesIO(content)):
        media, extension = "application/zip", ".zip"
    else:
        raise Invalid([("Seuls les fichiers PDF et ZIP sont acceptés (le contenu du fichier est vérifié, pas "
                       "seulement son nom).")])
    base = _SAFE_NAME.sub("_", (filename or "fichier").replace("\\", "/").rsplit("/", 1)[-1]).strip(" ._") or "fichier"
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return stem[:100] + extension, media


async def attach_file(user: CurrentUser, scenario_id: int, filename: str, content: bytes) -> str:
    """Attach a checked PDF or ZIP to a scenario (author only); the bytes go to the stored documents."""
    import uuid

    from portal.documents import services as documents

    safe, media = check_attachment(filename, content)
    async with atomic():
        row = await _own_scenario(user, scenario_id)
        if await ScenarioFile.count().where(ScenarioFile.scenario == scenario_id) >= FILES_PER_SCENARIO:
            raise Invalid([f"{FILES_PER_SCENARIO} fichiers au plus par scénario."])
        document_id = await documents.store("piece_scenario", f"SC-{uuid.uuid4().hex[:30]}", safe, content,
                                            media_type=media)
        inserted = await ScenarioFile.insert(ScenarioFile(
            scenario=scenario_id, document=document_id, filename=safe, media_type=media, size=len(content),
            added_by=user.account_id, added_at=now())).returning(ScenarioFile.id)
        await record(user.actor, "cmp_scenario", scenario_id, "fichier_ajout",
                     after={"file": inserted[0]["id"], "filename": safe, "size": len(content)},
                     summary=f"Fichier « {safe} » joint au scénario « {row['title']} »")
    return safe


async def scenario_file(user: CurrentUser, scenario_id: int, file_id: int):
    """The stored document of an attachment of a readable scenario."""
    from portal.documents import services as documents

    await _readable_scenario(user, scenario_id)
    row = await ScenarioFile.select(ScenarioFile.document).where(
        (ScenarioFile.id == file_id) & (ScenarioFile.scenario == scenario_id)).first()
    document = await documents.fetch(row["document"]) if row else None
    if document is None:
        raise NotFound(file_id)
    return document


async def remove_file(user: CurrentUser, scenario_id: int, file_id: int) -> None:
    """Detach a file (author only); the stored bytes stay (documents are never deleted)."""
    async with atomic():
        row = await _own_scenario(user, scenario_id)
        removed = await ScenarioFile.delete().where(
            (ScenarioFile.id == file_id) & (ScenarioFile.scenario == scenario_id)).returning(ScenarioFile.filename)
        if not removed:
            raise NotFound(file_id)
        await record(user.actor, "cmp_scenario", scenario_id, "fichier_retrait", before={"file": file_id},
                     summary=f"Fichier « {removed[0]['filename']} » retiré du scénario « {row['title']} »")


# --- evaluations ---------------------------------------------------------------------------------------------


async def create_evaluation(user: CurrentUser, title: Any, framework_id: int, selection: list[Selected],
                            learner_ids: list[int], scenario_id: int | None = None, visible: bool = False,
                            demo: bool = False) -> int:
    """Create an evaluation of the establishment acted for (learners already checked to be of it)."""
    school = school_of(user)
    errors: list[str] = []
    title = _text(title, TITLE_MAX, "Titre", errors, required=True)
    if not selection:
        errors.append("Compétences : choisissez-en au moins une.")
    if not learner_ids:
        errors.append("Apprenants : choisissez-en au moins un.")
    if errors:
        raise Invalid(errors)
    stamp = now()
    async with atomic():
        inserted = await Evaluation.insert(Evaluation(
            establishment=school, author=user.account_id, scenario=scenario_id, framework=framework_id, title=title,
            visible=visible, version=1, created_at=stamp, updated_at=stamp, demo=demo)).returning(Evaluation.id)
        evaluation_id = inserted[0]["id"]
        await _write_competencies(EvaluationCompetency, EvaluationCompetency.evaluation, evaluation_id, selection)
        await EvaluationLearner.insert(*[EvaluationLearner(evaluation=evaluation_id, learner=i) for i in learner_ids])
        await record(user.actor, "cmp_evaluation", evaluation_id, "création",
                     after={"title": title, "scenario": scenario_id, "learners": learner_ids,
                            "competencies": [s.node_id for s in selection], "visible": visible},
                     summary=f"Évaluation « {title} » créée ({len(learner_ids)} apprenant(s))")
    return evaluation_id


async def evaluation_from_scenario(user: CurrentUser, scenario_id: int, form: FormData) -> int:
    """An evaluation from a readable scenario: its title and competencies, the learners picked."""
    view = await scenario_view(user, scenario_id)
    learners = await school_learners(school_of(user))
    picked = pick_learners(form, learners)
    title = form.get("titre") or view.row["title"]
    return await create_evaluation(user, title, view.row["framework"], [sel for _n, sel in view.competencies],
                                   picked, scenario_id=scenario_id, visible=str(form.get("visible") or "") == "1")


async def team_evaluations(user: CurrentUser) -> list[dict]:
    """The evaluations of the establishment acted for, own first, with their fill state (one query)."""
    school = school_of(user)
    rows = await Evaluation.raw(
        'SELECT e.id, e.title, e.visible, e.author, e.updated_at, e.demo, a.first_name, a.last_name, '
        '(SELECT COUNT(*) FROM cmp_evaluation_learner l WHERE l.evaluation = e.id) AS learners, '
        '(SELECT COUNT(*) FROM cmp_evaluation_competency c WHERE c.evaluation = e.id) AS competencies, '
        + _FILLED_SQL + ' AS filled '
        'FROM cmp_evaluation e JOIN account a ON a.id = e.author WHERE e.establishment = {} '
        'ORDER BY e.id DESC', school)
    for row in rows:
        row["own"] = row["author"] == user.account_id
        row["cells"] = int(row["learners"]) * int(row["competencies"])
        row["filled"] = int(row["filled"])
    rows.sort(key=lambda r: not r["own"])
    return rows


#: Cells with a level whose learner and competency are still in the evaluation ``e``.
_FILLED_SQL = (
    "(SELECT COUNT(*) FROM cmp_grid_cell g "
    "JOIN cmp_evaluation_learner l ON l.evaluation = g.evaluation AND l.learner = g.learner "
    "JOIN cmp_evaluation_competency c ON c.evaluation = g.evaluation AND c.node = g.node "
    "WHERE g.evaluation = e.id AND g.level <> '')"
)


# The reads of a grid page, written once: Piccolo rebuilt these joined selects on every page (a third of the
# page's CPU, most of it resolving the joined columns). ``{}`` are parameters; the keys are Piccolo's, so the rows
# are the ones its selects gave (``tests/integration/test_competencies_read_sql.py`` compares them).
_EVALUATION_SQL = """
SELECT e.id, e.establishment, e.author, e.scenario, e.framework, e.title, e.visible, e.version, e.created_at,
       e.updated_at, e.demo, a.first_name AS "author.first_name", a.last_name AS "author.last_name",
       f.title AS "framework.title", f.version AS "framework.version", s.title AS "scenario.title"
FROM cmp_evaluation e
JOIN account a ON a.id = e.author
JOIN cmp_framework f ON f.id = e.framework
LEFT JOIN cmp_scenario s ON s.id = e.scenario
WHERE e.id = {} AND e.establishment = {}
"""
_GRID_LEARNERS_SQL = """
SELECT l.learner, a.first_name AS "learner.first_name", a.last_name AS "learner.last_name", l.comment,
       l.comment_version
FROM cmp_evaluation_learner l JOIN account a ON a.id = l.learner
WHERE l.evaluation = {}"""
_GRID_COMPETENCIES_SQL = """
SELECT c.id, c.node, n.code AS "node.code", n.label AS "node.label", c.position, c.complexities, c.hazards
FROM cmp_evaluation_competency c JOIN cmp_node n ON n.id = c.node
WHERE c.evaluation = {}
ORDER BY c.position, c.id"""
_GRID_CELLS_SQL = "SELECT learner, node, level, version FROM cmp_grid_cell WHERE evaluation = {}"


async def _team_evaluation(user: CurrentUser, evaluation_id: int) -> dict:
    if not 0 < evaluation_id <= ID_MAX:
        raise NotFound(evaluation_id)
    rows = await Evaluation.raw(_EVALUATION_SQL, evaluation_id, school_of(user))
    if not rows:
        raise NotFound(evaluation_id)
    return rows[0]


async def _own_evaluation(user: CurrentUser, evaluation_id: int) -> dict:
    row = await _team_evaluation(user, evaluation_id)
    if row["author"] != user.account_id:
        raise NotAuthor(NOT_AUTHOR)
    return row


@dataclass(slots=True)
class Cell:
    """A grid cell: a level (or empty) and its version (0 for a cell never saved)."""

    learner_id: int
    node_id: int
    level: str = ""
    version: int = 0

    @property
    def label(self) -> str:
        """The words of the level."""
        return rules.level_label(self.level)

    @property
    def css(self) -> str:
        """The colour class (always shown with the letter and words)."""
        level = rules.BY_CODE.get(self.level)
        return level.css if level else "lvl-empty"


@dataclass
class GridLearner:
    """A learner row of a grid."""

    id: int
    first_name: str
    last_name: str
    comment: str
    comment_version: int

    @property
    def name(self) -> str:
        """Name then first name."""
        return f"{self.last_name} {self.first_name}"


@dataclass
class GridCompetency:
    """A competency column of a grid."""

    id: int  # the EvaluationCompetency row
    node_id: int
    code: str
    label: str
    position: int
    complexities: list[str]
    hazards: list[str]


@dataclass
class Grid:
    """What a grid page shows, read in a constant number of queries."""

    evaluation: dict
    learners: list[GridLearner]
    competencies: list[GridCompetency]
    cells: dict[tuple[int, int], Cell]
    own: bool

    def cell(self, learner_id: int, node_id: int) -> Cell:
        """The cell of a learner and a competency (an empty one when never saved)."""
        return self.cells.get((learner_id, node_id)) or Cell(learner_id, node_id)

    @property
    def filled(self) -> int:
        """Cells with a level."""
        learners, nodes = {g.id for g in self.learners}, {c.node_id for c in self.competencies}
        return sum(1 for (learner, node), cell in self.cells.items()
                   if cell.level and learner in learners and node in nodes)

    @property
    def total(self) -> int:
        """Cells of the grid."""
        return len(self.learners) * len(self.competencies)

    def counts(self, node_id: int) -> dict[str, int]:
        """Levels given for one competency (view by competency)."""
        result: dict[str, int] = {}
        for learner in self.learners:
            level = self.cell(learner.id, node_id).level
            if level:
                result[level] = result.get(level, 0) + 1
        return result


async def _grid_rows(evaluation_id: int, learner_id: int | None = None) -> tuple[list, list, dict]:
    learners_sql, cells_sql, args = _GRID_LEARNERS_SQL, _GRID_CELLS_SQL, (evaluation_id,)
    if learner_id is not None:  # one learner's row (a row saved without JavaScript)
        learners_sql, cells_sql = learners_sql + " AND l.learner = {}", cells_sql + " AND learner = {}"
        args = (evaluation_id, learner_id)
    learner_rows = await EvaluationLearner.raw(learners_sql, *args)
    competency_rows = await EvaluationCompetency.raw(_GRID_COMPETENCIES_SQL, evaluation_id)
    cells = {(r["learner"], r["node"]): Cell(r["learner"], r["node"], r["level"], r["version"])
             for r in await GridCell.raw(cells_sql, *args)}
    learners = sorted((GridLearner(r["learner"], r["learner.first_name"], r["learner.last_name"], r["comment"],
                                   r["comment_version"]) for r in learner_rows),
                      key=lambda g: (g.last_name.lower(), g.first_name.lower(), g.id))
    competencies = [GridCompetency(r["id"], r["node"], r["node.code"], r["node.label"], r["position"],
                                   rules.options(r["complexities"]), rules.options(r["hazards"]))
                    for r in competency_rows]
    return learners, competencies, cells


async def grid(user: CurrentUser, evaluation_id: int) -> Grid:
    """The grid of an evaluation of the establishment: four queries whatever its size."""
    row = await _team_evaluation(user, evaluation_id)
    learners, competencies, cells = await _grid_rows(evaluation_id)
    return Grid(evaluation=row, learners=learners, competencies=competencies, cells=cells,
                own=row["author"] == user.account_id)


@dataclass
class CellSaved:
    """The outcome of a cell save."""

    cell: Cell
    changed: bool
    message: str


# The statements of a cell save, written once: Piccolo rebuilt these joined selects on every save (two fifths of
# the request's CPU). ``{}`` are parameters.
_CELL_TARGET_SQL = """
SELECT n.code AS "node.code", e.title AS "evaluation.title"
FROM cmp_evaluation_competency c
JOIN cmp_evaluation e ON e.id = c.evaluation
JOIN cmp_node n ON n.id = c.node
WHERE c.evaluation = {} AND c.node = {} AND e.establishment = {}
  AND EXISTS (SELECT 1 FROM cmp_evaluation_learner l WHERE l.evaluation = c.evaluation AND l.learner = {})
LIMIT 1
"""
_CELL_SQL = "SELECT id, level, version FROM cmp_grid_cell WHERE evaluation = {} AND learner = {} AND node = {}"
_CELL_UPDATE_SQL = """
UPDATE cmp_grid_cell SET level = {}, version = {}, updated_by = {}, updated_at = {}
WHERE id = {} AND version = {} RETURNING id
"""
_CELL_INSERT_SQL = """
INSERT INTO cmp_grid_cell (evaluation, learner, node, level, version, updated_by, updated_at)
VALUES ({}, {}, {}, {}, 1, {}, {}) ON CONFLICT DO NOTHING RETURNING id
"""


async def _cell_target(school: int, evaluation_id: int, learner_id: int, node_id: int) -> dict:
    """Check in one query that the competency and the learner are in an evaluation of ``school``."""
    if not all(0 < v <= ID_MAX for v in (evaluation_id, learner_id, node_id)):
        raise NotFound(evaluation_id)
    rows = await EvaluationCompetency.raw(_CELL_TARGET_SQL, evaluation_id, node_id, school, learner_id)
    if not rows:
        raise NotFound(evaluation_id)
    return rows[0]


async def _write_cell(user: CurrentUser, school: int, evaluation_id: int, learner_id: int, node_id: int,
                      wanted: str, before: str, expected: int, code: str) -> CellSaved:
    """Inside a transaction: read the cell, apply the version rule, write it and record the change."""
    # PostgreSQL: two saves of one cell wait for each other (SQLite's IMMEDIATE transaction already does)
    found = await GridCell.raw(_CELL_SQL + ("" if is_sqlite() else " FOR UPDATE"), evaluation_id, learner_id,
                               node_id)
    current = found[0] if found else None
    level, version = (current["level"], current["version"]) if current else ("", 0)
    plan = rules.plan_cell(level, version, wanted, before, expected)
    cell = Cell(learner_id, node_id, level, version)
    if plan.stale:
        raise Stale(STALE_CELL.format(current=rules.level_label(level)), cell)
    if not plan.write:
        return CellSaved(cell, False, "")
    stamp = now()
    if current:
        done = await GridCell.raw(_CELL_UPDATE_SQL, wanted, version + 1, user.account_id, stamp, current["id"],
                                  version)
    else:
        done = await GridCell.raw(_CELL_INSERT_SQL, evaluation_id, learner_id, node_id, wanted, user.account_id,
                                  stamp)
    if not done:
        # Someone created the cell between our read and our write (two first saves at once on PostgreSQL: the
        # insert waited for theirs to commit). A new statement sees their row: refuse with its value.
        again = await GridCell.raw(_CELL_SQL, evaluation_id, learner_id, node_id)
        if again:
            cell = Cell(learner_id, node_id, again[0]["level"], again[0]["version"])
        raise Stale(STALE_CELL.format(current=rules.level_label(cell.level)), cell)
    await record(user.actor, "cmp_grid_cell", done[0]["id"], "saisie",
                 before={"level": level, "version": version},
                 after={"level": wanted, "version": version + 1, "evaluation": evaluation_id, "learner": learner_id,
                        "node": node_id},
                 summary=f"Grille {evaluation_id}, {code}, apprenant {learner_id} : "
                         f"{rules.level_label(level)} → {rules.level_label(wanted)}",
                 establishment_id=school)
    return CellSaved(Cell(learner_id, node_id, wanted, version + 1), True,
                     f"{code} : {rules.level_label(wanted)} enregistré.")


async def save_cell(user: CurrentUser, evaluation_id: int, learner_id: int, node_id: int, level: Any,
                    shown: Any) -> CellSaved:
    """Save one cell in one short transaction (a few queries), refusing a stale version with the current value.
    ``shown`` is what the form showed, ``LEVEL.VERSION`` (:func:`rules.parse_shown`)."""
    school = school_of(user)
    try:
        wanted = rules.parse_level(level)
        previous, expected = rules.parse_shown(shown)
    except rules.GridRuleError as error:
        raise Invalid([str(error)]) from None
    target = await _cell_target(school, evaluation_id, learner_id, node_id)
    async with atomic():
        return await _write_cell(user, school, evaluation_id, learner_id, node_id, wanted, previous, expected,
                                 target["node.code"])


@dataclass
class RowSaved:
    """The outcome of a row save (one learner): cells and comment as they now stand, what changed, refusals."""

    learner: GridLearner
    cells: dict[int, Cell]
    changed: int
    stale: list[str]


async def save_row(user: CurrentUser, evaluation_id: int, learner_id: int, form: FormData) -> RowSaved:
    """Save every cell and the comment of one learner (the grid without JavaScript), all or nothing.

    Fields: ``niveau-NODE`` (level), ``avant-NODE`` (level and version shown, ``LEVEL.VERSION``), ``commentaire``,
    ``commentaire_avant``, ``commentaire_version``. A stale cell or comment refuses the whole row (:class:`Stale`).
    """
    row = await _team_evaluation(user, evaluation_id)
    school = row["establishment"]
    learners, competencies, _cells = await _grid_rows(evaluation_id, learner_id)
    if not learners:
        raise NotFound(learner_id)
    learner = learners[0]
    wanted: list[tuple[GridCompetency, str, str, int]] = []
    try:
        for comp in competencies:
            if form.get(f"niveau-{comp.node_id}") is None:
                continue
            wanted.append((comp, rules.parse_level(form.get(f"niveau-{comp.node_id}")),
                           *rules.parse_shown(form.get(f"avant-{comp.node_id}"))))
    except rules.GridRuleError as error:
        raise Invalid([str(error)]) from None
    comment_wanted = form.get("commentaire")
    changed = 0
    stale: list[str] = []
    async with atomic():
        results: dict[int, Cell] = {}
        for comp, level, before, expected in wanted:
            try:
                saved = await _write_cell(user, school, evaluation_id, learner_id, comp.node_id, level, before,
                                          expected, comp.code)
            except Stale as error:
                stale.append(f"{comp.code} : {error.message}")
                continue
            results[comp.node_id] = saved.cell
            changed += saved.changed
        if comment_wanted is not None:
            try:
                if await _write_comment(user, school, row, learner, comment_wanted, form.get("commentaire_avant"),
                                        form.get("commentaire_version")):
                    changed += 1
            except Stale as error:
                stale.append(error.message)
        if stale:
            # All or nothing: undo what this row wrote by failing the transaction.
            raise _RowStale(stale)
    fresh_learners, _c, fresh_cells = await _grid_rows(evaluation_id, learner_id)
    return RowSaved(fresh_learners[0], {n: c for (_l, n), c in fresh_cells.items()}, changed, [])


class _RowStale(Stale):
    def __init__(self, messages: list[str]):
        super().__init__(" ".join(messages))
        self.messages = messages


async def _write_comment(user: CurrentUser, school: int, evaluation: dict, learner: GridLearner, wanted: Any,
                         before: Any, version: Any) -> bool:
    errors: list[str] = []
    text = _text(wanted, COMMENT_MAX, "Commentaire", errors, one_line=False)
    previous = str(before if before is not None else learner.comment).replace("\r\n", "\n").strip()
    if errors:
        raise Invalid(errors)
    expected = parse_version(version)
    if text == previous or text == learner.comment:
        return False
    if expected != learner.comment_version:
        raise Stale(STALE_COMMENT.format(current=learner.comment[:200]))
    done = await EvaluationLearner.update({EvaluationLearner.comment: text,
                                           EvaluationLearner.comment_version: expected + 1}).where(
        (EvaluationLearner.evaluation == evaluation["id"]) & (EvaluationLearner.learner == learner.id)
        & (EvaluationLearner.comment_version == expected)).returning(EvaluationLearner.id)
    if not done:
        raise Stale(STALE_COMMENT.format(current=learner.comment[:200]))
    await record(user.actor, "cmp_evaluation_comment", done[0]["id"], "commentaire",
                 before={"comment": learner.comment, "version": expected},
                 after={"comment": text, "version": expected + 1, "evaluation": evaluation["id"],
                        "learner": learner.id},
                 summary=f"Commentaire de l'évaluation « {evaluation['title']} » pour {learner.name}",
                 establishment_id=school)
    learner.comment, learner.comment_version = text, expected + 1
    return True


async def save_comment(user: CurrentUser, evaluation_id: int, learner_id: int, comment: Any, before: Any,
                       version: Any) -> GridLearner:
    """Save the comment on one learner of an evaluation (version checked); returns the learner row as it stands."""
    async with atomic():
        row = await _team_evaluation(user, evaluation_id)
        learners, _c, _cells = await _grid_rows(evaluation_id, learner_id)
        if not learners:
            raise NotFound(learner_id)
        await _write_comment(user, row["establishment"], row, learners[0], comment, before, version)
    return learners[0]


# --- settings of an evaluation (author) -------------------------------------------------------------------------


@dataclass
class SettingsView:
    """What the settings page of an evaluation shows."""

    evaluation: dict
    tree: Tree
    selected: dict[int, Selected]
    order: list[GridCompetency]
    learners: list[LearnerChoice]
    picked: set[int]
    classes: list[str]


async def settings_view(user: CurrentUser, evaluation_id: int) -> SettingsView:
    """The settings of an evaluation the person authored."""
    row = await _own_evaluation(user, evaluation_id)
    tree = await framework_tree(row["framework"])
    learners_in, competencies, _cells = await _grid_rows(evaluation_id)
    # Only the learners and competencies are needed: the cells read above are few and discarded.
    learners = await school_learners(row["establishment"])
    known = {c.id for c in learners}
    for g in learners_in:  # a learner who left the school still shows (and can be removed)
        if g.id not in known:
            learners.append(LearnerChoice(g.id, g.first_name, g.last_name, ""))
    return SettingsView(evaluation=row, tree=tree,
                        selected={c.node_id: Selected(c.node_id, c.complexities, c.hazards) for c in competencies},
                        order=competencies, learners=learners, picked={g.id for g in learners_in},
                        classes=class_names(learners))


async def update_settings(user: CurrentUser, evaluation_id: int, form: FormData) -> None:
    """Title, visibility, learners and competencies (with complexities and aléas) of an evaluation, author only.

    Competencies kept keep their place; new ones go at the end in tree order. Cells of a learner or competency
    removed are kept: adding them back brings their levels back.
    """
    expected = parse_version(form.get("version"))
    row = await _own_evaluation(user, evaluation_id)
    tree = await framework_tree(row["framework"])
    errors: list[str] = []
    title = _text(form.get("titre"), TITLE_MAX, "Titre", errors, required=True)
    selection = parse_selection(form, tree, errors)
    learners = await school_learners(row["establishment"])
    current_learners = {r["learner"] for r in await EvaluationLearner.select(EvaluationLearner.learner).where(
        EvaluationLearner.evaluation == evaluation_id)}
    # learners already in (even if they left the school) may stay
    allowed = learners + [LearnerChoice(i, "", "", "") for i in current_learners if i not in {c.id for c in learners}]
    picked = pick_learners(form, allowed)
    if not selection:
        errors.append("Compétences : choisissez-en au moins une.")
    if not picked:
        errors.append("Apprenants : choisissez-en au moins un.")
    if errors:
        raise Invalid(errors)
    visible = str(form.get("visible") or "") == "1"
    async with atomic():
        done = await Evaluation.update({Evaluation.title: title, Evaluation.visible: visible,
                                        Evaluation.version: expected + 1, Evaluation.updated_at: now()}).where(
            (Evaluation.id == evaluation_id) & (Evaluation.version == expected)).returning(Evaluation.id)
        if not done:
            raise Stale(STALE_RECORD)
        existing = await EvaluationCompetency.select().where(EvaluationCompetency.evaluation == evaluation_id).order_by(
            EvaluationCompetency.position)
        kept_order = [r["node"] for r in existing]
        wanted = {s.node_id: s for s in selection}
        ordered = [wanted[n] for n in kept_order if n in wanted] + [s for s in selection if s.node_id not in kept_order]
        await _write_competencies(EvaluationCompetency, EvaluationCompetency.evaluation, evaluation_id, ordered)
        removed = current_learners - set(picked)
        added = [i for i in picked if i not in current_learners]
        if removed:
            await EvaluationLearner.delete().where((EvaluationLearner.evaluation == evaluation_id)
                                                   & EvaluationLearner.learner.is_in(list(removed)))
        if added:
            await EvaluationLearner.insert(*[EvaluationLearner(evaluation=evaluation_id, learner=i) for i in added])
        await record(user.actor, "cmp_evaluation", evaluation_id, "paramètres",
                     before={"title": row["title"], "visible": row["visible"], "version": expected,
                             "competencies": kept_order, "learners": sorted(current_learners)},
                     after={"title": title, "visible": visible, "version": expected + 1,
                            "competencies": [s.node_id for s in ordered], "learners": sorted(picked)},
                     summary=f"Évaluation « {title} » modifiée")


async def set_visible(user: CurrentUser, evaluation_id: int, visible: bool, version: Any) -> None:
    """Make an evaluation visible to its learners or not (author only)."""
    expected = parse_version(version)
    async with atomic():
        row = await _own_evaluation(user, evaluation_id)
        done = await Evaluation.update({Evaluation.visible: visible, Evaluation.version: expected + 1,
                                        Evaluation.updated_at: now()}).where(
            (Evaluation.id == evaluation_id) & (Evaluation.version == expected)).returning(Evaluation.id)
        if not done:
            raise Stale(STALE_RECORD)
        await record(user.actor, "cmp_evaluation", evaluation_id, "visibilité",
                     before={"visible": row["visible"]}, after={"visible": visible, "version": expected + 1},
                     summary=f"Évaluation « {row['title']} » " + ("rendue visible" if visible else "masquée")
                     + " aux apprenants")


async def move_competency(user: CurrentUser, evaluation_id: int, node_id: int | None, direction: str, version: Any,
                          order: list[int] | None = None) -> None:
    """Move a competency of an evaluation one place up or down (the keyboard and no-JavaScript way to order), or,
    with ``order`` (node ids, from drag and drop), put the competencies in that order."""
    expected = parse_version(version)
    if order is None and direction not in {"up", "down"}:
        raise Invalid(["Sens de déplacement inconnu."])
    async with atomic():
        row = await _own_evaluation(user, evaluation_id)
        rows = await EvaluationCompetency.select(EvaluationCompetency.id, EvaluationCompetency.node).where(
            EvaluationCompetency.evaluation == evaluation_id).order_by(EvaluationCompetency.position).order_by(
            EvaluationCompetency.id)
        if order is not None:
            by_node = {r["node"]: r for r in rows}
            if sorted(order) != sorted(by_node):
                raise Invalid([("L'ordre envoyé ne correspond plus aux compétences de l'évaluation : rechargez "
                                "la page.")])
            ordered = [by_node[n] for n in order]
        else:
            index = next((i for i, r in enumerate(rows) if r["node"] == node_id), None)
            if index is None:
                raise NotFound(node_id)
            ordered = rules.move(rows, index, direction)
        done = await Evaluation.update({Evaluation.version: expected + 1, Evaluation.updated_at: now()}).where(
            (Evaluation.id == evaluation_id) & (Evaluation.version == expected)).returning(Evaluation.id)
        if not done:
            raise Stale(STALE_RECORD)
        for position, r in enumerate(ordered):
            await EvaluationCompetency.update({EvaluationCompetency.position: position}).where(
                EvaluationCompetency.id == r["id"])
        await record(user.actor, "cmp_evaluation", evaluation_id, "ordre",
                     before={"order": [r["node"] for r in rows]}, after={"order": [r["node"] for r in ordered]},
                     summary=f"Évaluation « {row['title']} » : ordre des compétences modifié")


async def delete_evaluation(user: CurrentUser, evaluation_id: int) -> str:
    """Delete an evaluation with its grid (author only); the history keeps what it held."""
    async with atomic():
        row = await _own_evaluation(user, evaluation_id)
        filled = await GridCell.count().where((GridCell.evaluation == evaluation_id) & (GridCell.level != ""))
        await GridCell.delete().where(GridCell.evaluation == evaluation_id)
        await EvaluationLearner.delete().where(EvaluationLearner.evaluation == evaluation_id)
        await EvaluationCompetency.delete().where(EvaluationCompetency.evaluation == evaluation_id)
        await Evaluation.delete().where(Evaluation.id == evaluation_id)
        await record(user.actor, "cmp_evaluation", evaluation_id, "suppression",
                     before={"title": row["title"], "filled_cells": filled},
                     summary=f"Évaluation « {row['title']} » supprimée ({filled} case(s) saisie(s))")
    return row["title"]


# --- the learner's side --------------------------------------------------------------------------------------


async def own_evaluations(user: CurrentUser) -> list[dict]:
    """The visible evaluations the learner is in (one query)."""
    # prebuilt: it runs on every learner's dashboard
    return await Evaluation.raw(
        'SELECT e.id AS id, e.title AS title, e.updated_at AS updated_at, a.first_name AS "author.first_name", '
        'a.last_name AS "author.last_name" FROM cmp_evaluation_learner el '
        "JOIN cmp_evaluation e ON e.id = el.evaluation LEFT JOIN account a ON a.id = e.author "
        "WHERE el.learner = {} AND e.visible = {} ORDER BY e.id DESC", user.account_id, True)


async def own_evaluation(user: CurrentUser, evaluation_id: int) -> Grid:
    """One visible evaluation of the learner: their own row only (levels and comment)."""
    if not 0 < evaluation_id <= ID_MAX:
        raise NotFound(evaluation_id)
    row = await Evaluation.select(Evaluation.id, Evaluation.title, Evaluation.updated_at,
                                  Evaluation.author.first_name, Evaluation.author.last_name).where(
        (Evaluation.id == evaluation_id) & (Evaluation.visible == True)).first()
    if not row:
        raise NotFound(evaluation_id)
    learners, competencies, cells = await _grid_rows(evaluation_id, user.account_id)
    if not learners:
        raise NotFound(evaluation_id)
    return Grid(evaluation=row, learners=learners, competencies=competencies, cells=cells, own=False)

