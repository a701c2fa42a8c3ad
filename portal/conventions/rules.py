"""The rules of pole conventions (SPEC §6, circular and e-Pôles guide), as pure functions: no I/O, no Litestar.

- :func:`decide` — which instruments a pole needs, from its schools (the portal decides, never the user).
- :func:`articles_for` / :func:`missing_articles` — the article catalogue of each kind, with its nature
  (P pre-filled by the Administration, F fixed text, R required, O optional), and what is left to complete.
- :func:`staff_points` — the article 8 table of a specific partnership: functions × workload × staff → points.
- :func:`school_working_days`, :func:`specific_deadline` — the school calendar and the 10 working days rule.
- :func:`avenant_deadline` (1 June), :func:`salary_share_ok` (80 % / 20 %), :func:`parse_split` (article 8 key).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction

# --- kinds and steps -------------------------------------------------------------------------------------------

PARTNERSHIP = "partenariat"
COOPERATION = "cooperation"
SPECIFIC = "partenariat_specifique"
RESSORT_PARTNERSHIP = "ressort_partenariat"
RESSORT_COOPERATION = "ressort_cooperation"
KINDS = (PARTNERSHIP, COOPERATION, SPECIFIC, RESSORT_PARTNERSHIP, RESSORT_COOPERATION)
KIND_LABELS = {
    PARTNERSHIP: "Convention de partenariat",
    COOPERATION: "Convention de coopération",
    SPECIFIC: "Convention de partenariat spécifique",
    RESSORT_PARTNERSHIP: "Ressort de partenariat",
    RESSORT_COOPERATION: "Ressort de coopération",
}
#: the role (in the pole) of the schools each kind covers
KIND_ROLES = {
    PARTNERSHIP: "partenaire", RESSORT_PARTNERSHIP: "partenaire", SPECIFIC: "partenaire_specifique",
    COOPERATION: "cooperante", RESSORT_COOPERATION: "cooperante",
}
ROLE_LABELS = {"partenaire": "École partenaire", "partenaire_specifique": "École partenaire spécifique",
               "cooperante": "École coopérante"}

SCHOOLS, ARTICLES, SIGNATURES, ADMINISTRATION, ACKNOWLEDGMENT, DONE = (
    "ecoles", "articles", "signatures", "validation_administration", "prise_de_connaissance", "terminee")
STEPS = (SCHOOLS, ARTICLES, SIGNATURES, ADMINISTRATION, ACKNOWLEDGMENT, DONE)
STEP_LABELS = {
    SCHOOLS: "Étape 1 — écoles",
    ARTICLES: "Étape 2 — articles",
    SIGNATURES: "Étape 3 — signatures",
    ADMINISTRATION: "En attente de validation par l'Administration",
    ACKNOWLEDGMENT: "Prise de connaissance par les directions",
    DONE: "Terminée",
}
#: steps during which the school list and the articles may still change (before validation)
EDITABLE_STEPS = frozenset({SCHOOLS, ARTICLES})


@dataclass(frozen=True)
class PoleSchoolInfo:
    """A school of a pole, as the decision needs it."""

    establishment_id: int
    role: str
    po_id: int | None


@dataclass(frozen=True)
class Instrument:
    """One instrument the decision produces, with the schools it covers (sorted ids)."""

    kind: str
    other_po: int | None
    specific_school: int | None
    schools: tuple[int, ...]

    @property
    def key(self) -> str:
        """Identifies the instrument from one decision to the next."""
        return instrument_key(self.kind, self.other_po, self.specific_school)


def instrument_key(kind: str, other_po: int | None, specific_school: int | None) -> str:
    """``kind:po:school`` — the identity of an instrument in a pole."""
    return f"{kind}:{other_po or 0}:{specific_school or 0}"


def decide(seat_po: int | None, schools: Iterable[PoleSchoolInfo]) -> list[Instrument]:
    """The instruments a pole needs (SPEC §6).

    Partners all under the seat's PO → one ressort de partenariat; as soon as one partner has another PO, one
    convention de partenariat covering every partner. Cooperating schools of the seat's PO → one ressort de
    coopération; those of another PO → one convention de coopération per PO. Each specific partner → its own
    convention de partenariat spécifique. No school of a role → no instrument for it.
    """
    partners: set[int] = set()
    partner_pos: set[int | None] = set()
    coop_same: set[int] = set()
    coop_other: dict[int | None, set[int]] = {}
    specific: dict[int, int | None] = {}
    for school in schools:
        if school.role == "partenaire":
            partners.add(school.establishment_id)
            partner_pos.add(school.po_id)
        elif school.role == "cooperante":
            if school.po_id == seat_po and seat_po is not None:
                coop_same.add(school.establishment_id)
            else:
                coop_other.setdefault(school.po_id, set()).add(school.establishment_id)
        elif school.role == "partenaire_specifique":
            specific[school.establishment_id] = school.po_id
    result: list[Instrument] = []
    if partners:
        same = seat_po is not None and partner_pos == {seat_po}
        result.append(Instrument(RESSORT_PARTNERSHIP if same else PARTNERSHIP, None, None, tuple(sorted(partners))))
    if coop_same:
        result.append(Instrument(RESSORT_COOPERATION, None, None, tuple(sorted(coop_same))))
    for po in sorted(coop_other, key=lambda p: (p is None, p or 0)):
        result.append(Instrument(COOPERATION, po, None, tuple(sorted(coop_other[po]))))
    for school_id in sorted(specific):
        result.append(Instrument(SPECIFIC, specific[school_id], school_id, (school_id,)))
    return result


def may_offer(kind: str, seat_po: int | None, other_po: int | None, school_po: int | None) -> bool:
    """True when a school of ``school_po`` may be offered for adding to an instrument of ``kind``.

    A ressort only offers schools of the seat's PO; a convention de coopération, schools of its PO; a convention
    de partenariat, any school (its partners may belong to any PO). A specific partnership has one school only.
    """
    if kind in (RESSORT_PARTNERSHIP, RESSORT_COOPERATION):
        return seat_po is not None and school_po == seat_po
    if kind == COOPERATION:
        return school_po == other_po
    return kind == PARTNERSHIP


def concerned_pos(seat_po: int | None, school_pos: Iterable[int | None]) -> list[int]:
    """The organising bodies whose délégué signs: the seat's PO and the PO of every school covered."""
    result = {po for po in school_pos if po is not None}
    if seat_po is not None:
        result.add(seat_po)
    return sorted(result)


# --- articles --------------------------------------------------------------------------------------------------

PROVISIONAL = "Texte provisoire — à remplacer par le modèle officiel."


@dataclass(frozen=True)
class Article:
    """One article of a kind of convention. ``nature``: P pre-filled, F fixed, R required, O optional."""

    key: str
    number: int | None
    title: str
    nature: str
    text: str = ""
    table: str = ""  # "split" (article 8 key) or "staff" (article 8 of a specific partnership)

    @property
    def label(self) -> str:
        """« Article 4 — … » or the title alone."""
        return f"Article {self.number} — {self.title}" if self.number else self.title

    @property
    def editable(self) -> bool:
        """True for an article the pole writes (R or O)."""
        return self.nature in ("R", "O")


_FIXED = {
    "preambule": "Les parties concluent la présente convention dans le cadre du décret relatif aux pôles "
                 "territoriaux chargés de soutenir les écoles de l'enseignement ordinaire dans la mise en œuvre "
                 "des aménagements raisonnables et de l'intégration permanente totale.",
    "objet": "La présente convention a pour objet d'organiser les relations entre les parties au sein du pôle "
             "territorial, conformément aux dispositions décrétales et réglementaires en vigueur.",
    "missions": "Le pôle territorial exerce les missions que lui confie le décret : informer, accompagner et "
                "soutenir les écoles coopérantes, et assurer l'accompagnement des élèves concernés.",
    "exclusivite": "Une école partenaire ne peut être partenaire que d'un seul pôle territorial.",
    "exclusivite_coop": "Une école coopérante ne coopère qu'avec un seul pôle territorial.",
    "non_exclusivite": "Le partenariat spécifique ne fait pas obstacle à d'autres partenariats spécifiques de "
                       "l'école partenaire spécifique avec d'autres pôles territoriaux.",
    "duree": "La présente convention est conclue pour une durée égale à celle du contrat d'objectifs de l'école "
             "siège.",
    "non_renouvellement": "Chaque partie peut décider de ne pas renouveler la présente convention ; elle en "
                          "informe les autres parties et l'Administration au plus tard le 1er juin de l'année "
                          "scolaire qui précède l'échéance.",
    "communication": "La présente convention est communiquée à l'Administration par l'intermédiaire de "
                     "l'application du portail.",
    "mise_a_disposition": "La convention de partenariat du pôle territorial est mise à la disposition de l'école "
                          "coopérante, qui peut la consulter à tout moment.",
}


def _fixed(key: str) -> str:
    return f"{_FIXED[key]} ({PROVISIONAL})"


def _ident() -> list[Article]:
    return [Article("identification", None, "Identification du pôle territorial", "P"),
            Article("preambule", None, "Préambule", "F", _fixed("preambule")),
            Article("art1", 1, "Identification des parties", "P"),
            Article("art2", 2, "Objet de la convention", "F", _fixed("objet")),
            Article("art3", 3, "Missions du pôle territorial", "F", _fixed("missions"))]


_CATALOGUE: dict[str, list[Article]] = {
    PARTNERSHIP: _ident() + [
        Article("art4", 4, "Modalités de collaboration entre les parties", "R"),
        Article("art5", 5, "Modalités générales de coopération entre le pôle territorial et les écoles coopérantes", "R"),
        Article("art6", 6, "Modalités de collaboration entre le pôle territorial et les partenaires extérieurs", "R"),
        Article("art7", 7, "Modalités d'information et de collaboration avec les parents des élèves auprès desquels "
                           "le pôle intervient", "R"),
        Article("art8", 8, "Organisation du pôle territorial concernant la gestion du personnel", "R", table="split"),
        Article("art9", 9, "Exclusivité de partenariat", "F", _fixed("exclusivite")),
        Article("art10", 10, "Durée de validité de la présente convention", "F", _fixed("duree")),
        Article("art11", 11, "Décision de non-renouvellement de la présente convention", "F",
                _fixed("non_renouvellement")),
        Article("art12", 12, "Communication de la présente convention", "F", _fixed("communication")),
        Article("art13", 13, "Divers", "O"),
    ],
    COOPERATION: _ident() + [
        Article("art4", 4, "Modalités générales de coopération entre le pôle territorial et l'école coopérante", "R"),
        Article("art5", 5, "Modalités de collaboration entre le pôle territorial et les partenaires extérieurs", "R"),
        Article("art6", 6, "Mise à disposition de la convention de partenariat", "F", _fixed("mise_a_disposition")),
        Article("art7", 7, "Exclusivité de collaboration", "F", _fixed("exclusivite_coop")),
        Article("art8", 8, "Durée de validité de la présente convention", "F", _fixed("duree")),
        Article("art9", 9, "Décision de non-renouvellement de la présente convention", "F",
                _fixed("non_renouvellement")),
        Article("art10", 10, "Communication de la présente convention", "F", _fixed("communication")),
        Article("art11", 11, "Divers", "O"),
    ],
    SPECIFIC: _ident() + [
        Article("art4", 4, "Motivation du partenariat spécifique", "R"),
        Article("art5", 5, "Modalités de collaboration entre les parties", "R"),
        Article("art6", 6, "Modalités générales de coopération entre l'école partenaire spécifique et les écoles "
                           "coopérantes concernées", "R"),
        Article("art7", 7, "Modalités d'information et de collaboration avec les parents", "R"),
        Article("art8", 8, "Rétrocession de points affectés aux traitements ou subventions-traitements", "R",
                table="staff"),
        Article("art9", 9, "Non-exclusivité de partenariat spécifique", "F", _fixed("non_exclusivite")),
        Article("art10", 10, "Durée de validité de la présente convention", "F", _fixed("duree")),
        Article("art11", 11, "Communication de la présente convention", "F", _fixed("communication")),
        Article("art12", 12, "Divers", "O"),
    ],
}
#: ressort articles: (key, number, title, nature in a partnership ressort, nature in a cooperation ressort, …)
_RESSORT = [
    ("art4", 4, "Modalités de collaboration entre le pôle et les écoles partenaires", "R", "O", "", ""),
    ("art5", 5, "Organisation du pôle territorial concernant la gestion du personnel", "R", "O", "", "split"),
    ("art6", 6, "Exclusivité du partenariat", "F", "F", "exclusivite", ""),
    ("art7", 7, "Modalités générales de coopération entre le pôle et les écoles coopérantes", "O", "R", "", ""),
    ("art8", 8, "Exclusivité de collaboration", "F", "F", "exclusivite_coop", ""),
    ("art9", 9, "Modalités de collaboration entre le pôle et les partenaires extérieurs", "R", "R", "", ""),
    ("art10", 10, "Modalités d'information et de collaboration avec les parents", "R", "R", "", ""),
    ("art11", 11, "Durée de validité du ressort", "F", "F", "duree", ""),
    ("art12", 12, "Décision de non-renouvellement", "F", "F", "non_renouvellement", ""),
    ("art13", 13, "Communication du présent ressort", "F", "F", "communication", ""),
    ("art14", 14, "Divers", "O", "O", "", ""),
]
for _kind, _index in ((RESSORT_PARTNERSHIP, 3), (RESSORT_COOPERATION, 4)):
    _CATALOGUE[_kind] = [a if a.key != "art2" else Article("art2", 2, "Objet du ressort", "F", _fixed("objet"))
                         for a in _ident()] + [
        Article(row[0], row[1], row[2], row[_index], _fixed(row[5]) if row[5] else "",
                table=row[6] if row[_index] == "R" else "")
        for row in _RESSORT
    ]

#: the article of cooperation conventions « insérer le texte de la dernière convention de coopération » may fill
COPYABLE_KINDS = frozenset({COOPERATION})


def articles_for(kind: str) -> list[Article]:
    """The articles of a kind of instrument, in order."""
    return list(_CATALOGUE[kind])


def article(kind: str, key: str) -> Article | None:
    """One article of a kind, or None."""
    return next((a for a in _CATALOGUE[kind] if a.key == key), None)


def is_complete(item: Article, text: str, data: dict | None) -> bool:
    """True when an article needs nothing more: P/F/O always; R once its text (or staff table) is saved."""
    if item.nature != "R":
        return True
    if item.table == "staff":
        return bool(data and any(int(line.get("count", 0)) > 0 for line in data.get("lines", [])))
    return bool(text and text.strip())


def missing_articles(kind: str, saved: dict[str, tuple[str, dict | None]]) -> list[Article]:
    """The required articles still to complete; ``saved`` maps an article key to (text, data)."""
    return [a for a in _CATALOGUE[kind] if not is_complete(a, *saved.get(a.key, ("", None)))]


# --- article 8: points ---------------------------------------------------------------------------------------

#: workloads of the article 8 table, as shown (decimal comma) and as fractions of a full time
FRACTIONS: dict[str, Fraction] = {
    "1/5": Fraction(1, 5), "2/5": Fraction(2, 5), "2,5/5": Fraction(1, 2), "3/5": Fraction(3, 5),
    "4/5": Fraction(4, 5), "5/5": Fraction(1),
}
MAX_STAFF = 99


class RuleError(ValueError):
    """An input the rules refuse, with a French message."""


def staff_points(lines: Iterable[dict], function_points: dict[int, int]) -> Fraction:
    """Total points of the article 8 table: Σ function points × workload × staff count."""
    total = Fraction(0)
    for line in lines:
        total += Fraction(function_points.get(int(line["function"]), 0)) * FRACTIONS[line["fraction"]] \
            * int(line["count"])
    return total


def parse_staff_cells(cells: dict[str, str], function_names: dict[int, str]) -> list[dict]:
    """The cells of the article 8 form (``cell-<function>-<fraction>`` → count) as table lines.

    Empty cells count as zero; anything else must be a whole number from 0 to 99 (French message otherwise).
    """
    lines = []
    for name, raw in cells.items():
        if not name.startswith("cell-"):
            continue
        _, _, rest = name.partition("-")
        function_raw, _, fraction = rest.partition("-")
        if not function_raw.isdigit() or int(function_raw) not in function_names or fraction not in FRACTIONS:
            raise RuleError("Le tableau envoyé ne correspond pas aux fonctions de référence. Rechargez la page.")
        value = (raw or "").strip()
        if not value:
            continue
        if not value.isdigit() or int(value) > MAX_STAFF:
            raise RuleError(f"{function_names[int(function_raw)]}, charge {fraction} : indiquez un nombre entier "
                            f"de membres du personnel entre 0 et {MAX_STAFF}.")
        if int(value):
            lines.append({"function": int(function_raw), "fraction": fraction, "count": int(value)})
    lines.sort(key=lambda line: (line["function"], list(FRACTIONS).index(line["fraction"])))
    return lines


def parse_split(mode: str | None, shares: dict[int, str], school_ids: Iterable[int],
                running: str | None = None) -> dict:
    """The split of salary points of article 8: everything to the seat, or a key (percentages) between the seat
    (id 0) and the partners, which must add up to 100; and the share of the pole's points kept for running costs,
    at most 20 % (at least 80 % go to salaries). Returns ``{"mode": …, "shares": {id: "…"}, "running": "…"}``."""
    running_value = _percent(running, "La part des frais de fonctionnement")
    if not salary_share_ok(100 - Fraction(running_value), Fraction(running_value)):
        raise RuleError("Au moins 80 % des points du pôle vont aux traitements : la part des frais de "
                        "fonctionnement est de 20 % au plus.")
    running_text = format(running_value.normalize(), "f")
    if mode in (None, "", "siege"):
        return {"mode": "siege", "shares": {}, "running": running_text}
    if mode != "cle":
        raise RuleError("Choisissez une répartition des points : tout à l'école siège, ou une clé de répartition.")
    result: dict[str, str] = {}
    total = Decimal(0)
    for school_id in [0, *school_ids]:
        value = _percent(shares.get(school_id), "Chaque part de la clé de répartition")
        total += value
        result[str(school_id)] = format(value.normalize(), "f")
    if total != 100:
        raise RuleError(f"Les parts de la clé de répartition totalisent {format(total.normalize(), 'f').replace('.', ',')} % "
                        "au lieu de 100 %.")
    return {"mode": "cle", "shares": result, "running": running_text}


def _percent(raw: str | None, what: str) -> Decimal:
    """A percentage typed with a decimal comma or point (empty: 0), from 0 to 100."""
    text = (raw or "").strip().replace(",", ".").rstrip("%").strip()
    try:
        value = Decimal(text or "0")
    except InvalidOperation:
        raise RuleError(f"{what} est un pourcentage (par exemple 12,5).") from None
    if not value.is_finite() or value < 0 or value > 100:
        raise RuleError(f"{what} est comprise entre 0 et 100 %.")
    return value


def salary_share_ok(salary_points: Fraction | int, running_points: Fraction | int) -> bool:
    """At least 80 % of a pole's points go to salaries, at most 20 % to running costs."""
    total = Fraction(salary_points) + Fraction(running_points)
    return total == 0 or Fraction(salary_points) / total >= Fraction(4, 5)


# --- calendar --------------------------------------------------------------------------------------------------

SPECIFIC_NOTICE_DAYS = 10


def is_school_day(day: date, holidays: Iterable[tuple[date, date]]) -> bool:
    """A school working day: Monday to Friday, outside every holiday (inclusive bounds)."""
    return day.weekday() < 5 and not any(start <= day <= end for start, end in holidays)


def school_working_days(start: date, end: date, holidays: Iterable[tuple[date, date]]) -> int:
    """School working days from ``start`` to ``end``, both included (0 when ``end`` is before ``start``)."""
    periods = list(holidays)
    count, day = 0, start
    while day <= end:
        count += is_school_day(day, periods)
        day += timedelta(days=1)
    return count


def specific_deadline(care_starts_on: date, holidays: Iterable[tuple[date, date]],
                      days: int = SPECIFIC_NOTICE_DAYS) -> date:
    """The last day a specific partnership may be communicated: the ``days``-th school working day before the
    care of the learner starts (the start itself not counted), so that at least ``days`` school working days
    separate the communication from the start."""
    periods = list(holidays)
    day, found = care_starts_on, 0
    while found < days:
        day -= timedelta(days=1)
        found += is_school_day(day, periods)
    return day


def school_year_of(day: date) -> str:
    """``2026-2027`` for any day from 1 September 2026 to 31 August 2027."""
    start = day.year if day.month >= 9 else day.year - 1
    return f"{start}-{start + 1}"


def avenant_deadline(effective_on: date) -> date:
    """An avenant to the split or transfer of points is due by 1 June of the school year before the one in which
    it takes effect."""
    start = effective_on.year if effective_on.month >= 9 else effective_on.year - 1
    return date(start, 6, 1)


def deadline_state(due: date | None, today: date, soon_days: int = 14) -> str:
    """``depassee`` (past), ``proche`` (within ``soon_days``), ``ok``, or ``""`` without a date."""
    if due is None:
        return ""
    if today > due:
        return "depassee"
    return "proche" if (due - today).days <= soon_days else "ok"


# --- avenants --------------------------------------------------------------------------------------------------

#: the kinds whose split (or transfer) of points may change each year by an avenant
AVENANT_KINDS = frozenset({PARTNERSHIP, RESSORT_PARTNERSHIP, SPECIFIC})
#: steps once the Administration has validated the convention
VALIDATED_STEPS = frozenset({ACKNOWLEDGMENT, DONE})
AV_DRAFT, AV_SIGNATURES, AV_COMMUNICATED, AV_TAKEN = "brouillon", "signatures", "communique", "pris_en_compte"
AVENANT_STATUS_LABELS = {
    AV_DRAFT: "Brouillon",
    AV_SIGNATURES: "En attente des signatures",
    AV_COMMUNICATED: "Communiqué à l'Administration",
    AV_TAKEN: "Pris en compte par l'Administration",
}
AVENANT_YEARS_AHEAD = 3
AVENANT_LATE_MESSAGE = ("Le délai est dépassé : un avenant prenant effet en {year} devait être communiqué au plus "
                        "tard le {due:%d/%m/%Y} (1er juin de l'année scolaire précédente). Il ne peut plus être "
                        "communiqué ; choisissez une année scolaire ultérieure.")


def year_start(school_year: str | None) -> int | None:
    """2027 for ``2027-2028``; None for anything that is not two consecutive years."""
    text = (school_year or "").strip()
    first, sep, second = text.partition("-")
    if not sep or len(first) != 4 or len(second) != 4 or not first.isdigit() or not second.isdigit():
        return None
    return int(first) if int(second) == int(first) + 1 else None


def avenant_due(effective_year: str) -> date:
    """The last day to communicate an avenant taking effect in ``effective_year`` (``2027-2028`` → 1 June 2027)."""
    start = year_start(effective_year)
    if start is None:
        raise RuleError("Choisissez l'année scolaire de prise d'effet de l'avenant (par exemple 2027-2028).")
    return avenant_deadline(date(start, 9, 1))


def avenant_refusal(kind: str, step: str, active: bool = True) -> str:
    """Why no avenant may be made on a convention ("" when one may)."""
    if kind not in AVENANT_KINDS:
        return ("Un avenant ne concerne que la répartition ou la rétrocession des points : il est possible pour une "
                "convention de partenariat, un ressort de partenariat ou une convention de partenariat spécifique.")
    if not active or step not in VALIDATED_STEPS:
        return "Un avenant n'est possible que sur une convention validée par l'Administration."
    return ""


def avenant_years(today: date, count: int = AVENANT_YEARS_AHEAD) -> list[str]:
    """The next school years an avenant may still take effect in (their 1 June deadline not passed)."""
    current = year_start(school_year_of(today)) or today.year
    years = []
    start = current + 1
    while len(years) < count:
        year = f"{start}-{start + 1}"
        if avenant_due(year) >= today:
            years.append(year)
        start += 1
    return years


def avenant_late(effective_year: str, today: date) -> str:
    """The French refusal when an avenant can no longer be communicated ("" while it still can)."""
    due = avenant_due(effective_year)
    return AVENANT_LATE_MESSAGE.format(year=effective_year, due=due) if today > due else ""


class KindAndStepLabels:
    """``kind_label`` and ``step_label`` for anything with a ``kind`` and a ``step`` (summaries, dashboard items,
    the convention page): the words come from one place."""

    kind: str
    step: str

    @property
    def kind_label(self) -> str:
        """The kind in words."""
        return KIND_LABELS[self.kind]

    @property
    def step_label(self) -> str:
        """The step in words."""
        return STEP_LABELS[self.step]
