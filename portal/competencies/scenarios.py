"""Scenarios of competency tracking and their attachments (SPEC §7; CERISE PRO guide §3.5, CPRO guide §4).

A scenario is read by its author, by the school's teachers unless it is private, and by the teachers of an
establishment it was shared with; only its author edits, deletes, duplicates for others or shares it. Attachments
are PDF or ZIP files, checked by their content and size. Scope and errors: :mod:`portal.competencies.services`.
No Litestar here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from portal.accounts.identity import CurrentUser
from portal.competencies import rules
from portal.competencies.services import (
    ID_MAX, NOT_AUTHOR, SHORT_MAX, STALE_RECORD, TEXT_MAX, TITLE_MAX, FormData, Invalid, Node, NotAuthor, NotFound,
    Selected, Stale, Tree, clean_text, framework_tree, parse_id, parse_selection, parse_version, school_of,
    write_competencies,
)
from portal.competencies.tables import Evaluation, Scenario, ScenarioCompetency, ScenarioFile, ScenarioShare
from portal.core.clock import now
from portal.core.db import atomic
from portal.directory.tables import Establishment
from portal.history.services import record


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
    title = clean_text(form.get("titre"), TITLE_MAX, "Titre", errors, required=True)
    links = clean_text(form.get("liens"), TEXT_MAX, "Liens", errors, one_line=False)
    for line in filter(None, (line.strip() for line in links.splitlines())):
        if not _URL.match(line):
            errors.append(f"Liens : « {line[:60]} » n'est pas une adresse http:// ou https:// (une par ligne).")
    framework_id = parse_id(form.get("referentiel"))
    if framework_id is None:
        raise Invalid(errors + ["Référentiel : à choisir."])
    tree = await framework_tree(framework_id)
    data = ScenarioInput(
        title=title, private=str(form.get("prive") or "") in {"1", "on", "oui"},
        context=clean_text(form.get("contexte"), TEXT_MAX, "Contexte", errors, one_line=False),
        materials=clean_text(form.get("materiels"), TEXT_MAX, "Matériels et logiciels", errors, one_line=False),
        links=links, resources=clean_text(form.get("ressources"), TEXT_MAX, "Ressources", errors, one_line=False),
        diploma=clean_text(form.get("diplome") or tree.diploma, SHORT_MAX, "Diplôme", errors),
        class_level=clean_text(form.get("niveau"), SHORT_MAX, "Niveau de classe", errors),
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
        await write_competencies(ScenarioCompetency, ScenarioCompetency.scenario, scenario_id, data.competencies)
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
        await write_competencies(ScenarioCompetency, ScenarioCompetency.scenario, scenario_id, data.competencies)
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
    new_title = clean_text(title, TITLE_MAX, "Nom du nouveau scénario", errors, required=True)
    level = clean_text(class_level, SHORT_MAX, "Niveau", errors)
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
