"""Frameworks (référentiels): a documented TOML format, checked with every fault named, loaded as a new version.

:func:`parse_framework` reads and checks a file's text (pure: no database) and gives a :class:`FrameworkSpec`, or
raises :class:`FrameworkFileError` listing every fault in French with the path of the faulty key
(``nodes[2].children[0].code``). :func:`load_framework` stores a spec as a new version in one transaction; the same
code and version loaded again with the same content changes nothing, with another content it is refused: a
version, once loaded, is never rewritten, since scenarios and evaluations point at its nodes. The format is
documented at the top of ``frameworks/bacpro_melec.toml`` and in the README (« Suivi des compétences »).
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from portal.core.clock import now
from portal.core.db import atomic, query
from portal.history.services import SYSTEM, Actor, record

FRAMEWORK_DIR = Path(__file__).resolve().parent / "frameworks"
DEMO_FILE = FRAMEWORK_DIR / "bacpro_melec.toml"
FORMAT_VERSION = 1
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$")
LABEL_MAX = 500
OPTION_MAX = 200  # length of one complexity or aléa
OPTIONS_MAX = 20  # complexities (or aléas) per leaf
NODES_MAX = 5000
DEPTH_MAX = 8


class FrameworkFileError(ValueError):
    """A framework file refused; ``messages`` lists every fault, in French, each naming where it is."""

    def __init__(self, messages: list[str]):
        super().__init__("\n".join(messages))
        self.messages = messages


class FrameworkVersionConflict(ValueError):
    """The code and version are already loaded with another content (a loaded version is never rewritten)."""


@dataclass(frozen=True)
class NodeSpec:
    """A node of the tree as the file gives it."""

    code: str
    label: str
    depth: int
    children: tuple[NodeSpec, ...] = ()
    complexities: tuple[str, ...] = ()
    hazards: tuple[str, ...] = ()

    @property
    def is_leaf(self) -> bool:
        """A leaf is what gets evaluated (compétence / tâche)."""
        return not self.children


@dataclass(frozen=True)
class FrameworkSpec:
    """A checked framework file."""

    code: str
    version: str
    title: str
    diploma: str
    levels: tuple[str, ...]
    nodes: tuple[NodeSpec, ...]
    note: str = ""
    demo: bool = False
    sha256: str = ""

    def walk(self):
        """(node, parent code or None) in pre-order: the order of the tree."""
        stack = [(node, None) for node in reversed(self.nodes)]
        while stack:
            node, parent = stack.pop()
            yield node, parent
            stack.extend((child, node.code) for child in reversed(node.children))

    @property
    def leaves(self) -> list[NodeSpec]:
        """The leaves, in tree order."""
        return [node for node, _ in self.walk() if node.is_leaf]


@dataclass
class _Checker:
    faults: list[str] = field(default_factory=list)
    codes: dict[str, str] = field(default_factory=dict)
    count: int = 0

    def fault(self, where: str, message: str) -> None:
        self.faults.append(f"{where} : {message}")

    def text(self, table: dict, key: str, where: str, maximum: int, required: bool = True) -> str:
        value = table.get(key)
        if value is None:
            if required:
                self.fault(f"{where}.{key}", "clé obligatoire absente.")
            return ""
        if not isinstance(value, str):
            self.fault(f"{where}.{key}", "doit être un texte entre guillemets.")
            return ""
        value = " ".join(value.split())
        if required and not value:
            self.fault(f"{where}.{key}", "ne peut pas être vide.")
        if len(value) > maximum:
            self.fault(f"{where}.{key}", f"{maximum} caractères au plus ({len(value)} donnés).")
        return value

    def options(self, table: dict, key: str, where: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fault(f"{where}.{key}", "doit être une liste de textes, par exemple [\"…\", \"…\"].")
            return ()
        cleaned = [" ".join(v.split()) for v in value]
        if any(not v for v in cleaned):
            self.fault(f"{where}.{key}", "contient un texte vide.")
        if any(len(v) > OPTION_MAX for v in cleaned):
            self.fault(f"{where}.{key}", f"chaque élément a {OPTION_MAX} caractères au plus.")
        if len(cleaned) > OPTIONS_MAX:
            self.fault(f"{where}.{key}", f"{OPTIONS_MAX} éléments au plus.")
        if len(set(cleaned)) != len(cleaned):
            self.fault(f"{where}.{key}", "contient deux fois le même élément.")
        return tuple(cleaned)


NODE_KEYS = {"code", "label", "children", "complexities", "hazards", "invented"}
FRAMEWORK_KEYS = {"code", "version", "title", "diploma", "levels", "note", "demo", "complexities", "hazards"}


def _node(checker: _Checker, raw, where: str, depth: int, levels: tuple[str, ...],
          defaults: tuple[tuple[str, ...], tuple[str, ...]]) -> NodeSpec | None:
    if not isinstance(raw, dict):
        checker.fault(where, "doit être une table ([[nodes]] ou [[…children]]).")
        return None
    checker.count += 1
    for key in sorted(set(raw) - NODE_KEYS):
        checker.fault(f"{where}.{key}", "clé inconnue (clés permises : " + ", ".join(sorted(NODE_KEYS)) + ").")
    code = checker.text(raw, "code", where, 40)
    if code and not CODE_RE.match(code):
        checker.fault(f"{where}.code", f"« {code} » : lettres, chiffres, point, tiret ou souligné, 40 au plus.")
    if code:
        if code in checker.codes:
            checker.fault(f"{where}.code", f"« {code} » est déjà le code de {checker.codes[code]}.")
        else:
            checker.codes[code] = where
    label = checker.text(raw, "label", where, LABEL_MAX)
    if depth >= len(levels):
        checker.fault(where, f"profondeur {depth + 1} : le référentiel ne nomme que {len(levels)} niveau(x) "
                             "([framework] levels).")
    children_raw = raw.get("children", [])
    if not isinstance(children_raw, list):
        checker.fault(f"{where}.children", "doit être une liste de tables ([[…children]]).")
        children_raw = []
    if depth + 1 >= DEPTH_MAX and children_raw:
        checker.fault(f"{where}.children", f"{DEPTH_MAX} niveaux au plus.")
        children_raw = []
    children = tuple(filter(None, (_node(checker, child, f"{where}.children[{i}]", depth + 1, levels, defaults)
                                   for i, child in enumerate(children_raw))))
    complexities: tuple[str, ...] = ()
    hazards: tuple[str, ...] = ()
    if children:
        for key in ("complexities", "hazards"):
            if key in raw:
                checker.fault(f"{where}.{key}", "seules les feuilles (sans children) portent des complexités et "
                                                "des aléas.")
    else:
        complexities = checker.options(raw, "complexities", where) if "complexities" in raw else defaults[0]
        hazards = checker.options(raw, "hazards", where) if "hazards" in raw else defaults[1]
    return NodeSpec(code=code, label=label, depth=depth, children=children, complexities=complexities,
                    hazards=hazards)


def parse_framework(content: str | bytes, source: str = "fichier") -> FrameworkSpec:
    """Check a framework file and give its spec, or raise :class:`FrameworkFileError` naming every fault."""
    raw_bytes = content.encode() if isinstance(content, str) else content
    try:
        text = raw_bytes.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FrameworkFileError([f"{source} : le fichier doit être encodé en UTF-8."]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise FrameworkFileError([f"{source} : syntaxe TOML invalide ({error})."]) from None
    checker = _Checker()
    fmt = data.get("format")
    if fmt != FORMAT_VERSION:
        checker.fault("format", f"doit valoir {FORMAT_VERSION} (version du format de fichier).")
    for key in sorted(set(data) - {"format", "framework", "nodes"}):
        checker.fault(key, "clé inconnue au premier niveau (permises : format, [framework], [[nodes]]).")
    meta = data.get("framework")
    if not isinstance(meta, dict):
        checker.fault("framework", "table [framework] absente.")
        meta = {}
    for key in sorted(set(meta) - FRAMEWORK_KEYS):
        checker.fault(f"framework.{key}", "clé inconnue (permises : " + ", ".join(sorted(FRAMEWORK_KEYS)) + ").")
    code = checker.text(meta, "code", "framework", 40)
    if code and not CODE_RE.match(code):
        checker.fault("framework.code", f"« {code} » : lettres, chiffres, point, tiret ou souligné, 40 au plus.")
    version = checker.text(meta, "version", "framework", 20)
    if version and not VERSION_RE.match(version):
        checker.fault("framework.version", f"« {version} » : lettres, chiffres, point, tiret ou souligné, 20 au plus.")
    title = checker.text(meta, "title", "framework", 255)
    diploma = checker.text(meta, "diploma", "framework", 120, required=False)
    note = meta.get("note", "")
    if not isinstance(note, str):
        checker.fault("framework.note", "doit être un texte.")
        note = ""
    demo = meta.get("demo", False)
    if not isinstance(demo, bool):
        checker.fault("framework.demo", "doit valoir true ou false.")
        demo = False
    levels_raw = meta.get("levels")
    levels: tuple[str, ...] = ()
    if not isinstance(levels_raw, list) or not levels_raw or not all(isinstance(v, str) and v.strip()
                                                                      for v in levels_raw):
        checker.fault("framework.levels", "liste non vide des noms de niveaux, de la racine aux feuilles, par "
                                          "exemple [\"Activité\", \"Tâche\"].")
    else:
        levels = tuple(v.strip() for v in levels_raw)
        if len(levels) > DEPTH_MAX:
            checker.fault("framework.levels", f"{DEPTH_MAX} niveaux au plus.")
    defaults = (checker.options(meta, "complexities", "framework") if "complexities" in meta else (),
                checker.options(meta, "hazards", "framework") if "hazards" in meta else ())
    nodes_raw = data.get("nodes")
    nodes: tuple[NodeSpec, ...] = ()
    if not isinstance(nodes_raw, list) or not nodes_raw:
        checker.fault("nodes", "au moins un nœud racine [[nodes]].")
    elif levels:
        nodes = tuple(filter(None, (_node(checker, node, f"nodes[{i}]", 0, levels, defaults)
                                    for i, node in enumerate(nodes_raw))))
    if checker.count > NODES_MAX:
        checker.fault("nodes", f"{NODES_MAX} nœuds au plus ({checker.count} donnés).")
    if checker.faults:
        raise FrameworkFileError([f"{source}, {fault}" for fault in checker.faults])
    return FrameworkSpec(code=code, version=version, title=title, diploma=diploma, levels=levels, nodes=nodes,
                         note=note.strip(), demo=demo, sha256=hashlib.sha256(raw_bytes).hexdigest())


def read_framework(path: Path | str) -> FrameworkSpec:
    """Parse the framework file at ``path``."""
    path = Path(path)
    return parse_framework(path.read_bytes(), source=path.name)


@dataclass(frozen=True)
class LoadReport:
    """What a load did: the framework's id and whether it was new."""

    framework_id: int
    created: bool
    nodes: int


async def load_framework(spec: FrameworkSpec, actor: Actor = SYSTEM) -> LoadReport:
    """Store ``spec`` as a new framework version in one transaction (idempotent for an identical file).

    Raises :class:`FrameworkVersionConflict` when its code and version exist with another content.
    """
    from portal.competencies.tables import Framework, FrameworkNode

    async with atomic():
        existing = await Framework.select(Framework.id, Framework.sha256).where(
            (Framework.code == spec.code) & (Framework.version == spec.version)).first()
        if existing:
            if existing["sha256"] != spec.sha256:
                raise FrameworkVersionConflict(
                    f"La version « {spec.version} » du référentiel « {spec.code} » est déjà chargée avec un autre "
                    "contenu. Une version chargée n'est jamais réécrite (des évaluations s'y rapportent) : donnez "
                    "un nouveau numéro de version au fichier.")
            count = await FrameworkNode.count().where(FrameworkNode.framework == existing["id"])
            return LoadReport(existing["id"], created=False, nodes=count)
        inserted = await Framework.insert(Framework(
            code=spec.code, version=spec.version, title=spec.title, diploma=spec.diploma,
            levels=json.dumps(list(spec.levels), ensure_ascii=False), sha256=spec.sha256, note=spec.note,
            loaded_at=now(), demo=spec.demo,
        )).returning(Framework.id)
        framework_id = inserted[0]["id"]
        ids: dict[str, int] = {}
        # Parents come before their children in pre-order: each insert knows its parent's id.
        for position, (node, parent) in enumerate(spec.walk()):
            row = await FrameworkNode.insert(FrameworkNode(
                framework=framework_id, parent=ids.get(parent) if parent else None, code=node.code,
                label=node.label, depth=node.depth, position=position, is_leaf=node.is_leaf,
                complexities=json.dumps(list(node.complexities), ensure_ascii=False),
                hazards=json.dumps(list(node.hazards), ensure_ascii=False),
            )).returning(FrameworkNode.id)
            ids[node.code] = row[0]["id"]
        await record(actor, "cmp_framework", framework_id, "chargement",
                     after={"code": spec.code, "version": spec.version, "nodes": len(ids), "sha256": spec.sha256},
                     summary=f"Référentiel {spec.code} version {spec.version} chargé ({len(ids)} nœuds)")
    return LoadReport(framework_id, created=True, nodes=len(ids))


async def load_file(path: Path | str = DEMO_FILE, actor: Actor = SYSTEM) -> LoadReport:
    """Parse and load one framework file."""
    return await load_framework(read_framework(path), actor)


# --- reading, for the frameworks page ---------------------------------------------------------------------------


async def framework_list() -> list[dict]:
    """Every framework version with its number of nodes, newest first within a code (one query)."""

    rows = await query(
        "SELECT f.id, f.code, f.version, f.title, f.diploma, f.loaded_at, f.demo, "
        "(SELECT COUNT(*) FROM cmp_node n WHERE n.framework = f.id) AS nodes "
        "FROM cmp_framework f ORDER BY f.code, f.id DESC")
    latest: set[str] = set()
    for row in rows:
        row["current"] = row["code"] not in latest
        latest.add(row["code"])
    return rows


FILE_MAX = 2 * 1024 * 1024


async def load_upload(content: bytes, filename: str, actor: Actor) -> LoadReport:
    """Check and load an uploaded framework file (2 Mo at most); faults as :class:`FrameworkFileError`."""
    name = (filename or "fichier").replace("\\", "/").rsplit("/", 1)[-1][:80] or "fichier"
    if not content:
        raise FrameworkFileError([f"{name} : le fichier est vide."])
    if len(content) > FILE_MAX:
        raise FrameworkFileError([f"{name} : {FILE_MAX // (1024 * 1024)} Mo au plus."])
    if b"\x00" in content[:4096]:
        raise FrameworkFileError([f"{name} : ce n'est pas un fichier texte TOML."])
    return await load_framework(parse_framework(content, source=name), actor)
