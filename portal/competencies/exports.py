"""Documents of competency tracking (SPEC §9): a scenario as DOCX (python-docx) and ODT (odfpy), and the blank
evaluation sheet as PDF (WeasyPrint) to mark by hand. Pure functions of the data given; no database, no web.
"""

from __future__ import annotations

import io
import re
from datetime import datetime

from portal.i18n import gettext

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"


def filename(title: str, extension: str) -> str:
    """A download name from a title: ASCII letters, digits and dashes."""
    import unicodedata

    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9]+", "-", ascii_title).strip("-")[:60] or "scenario"
    return f"{stem}.{extension}"


def _sections(view) -> list[tuple[str, str]]:
    row = view.row
    return [
        ("Diplôme", row["diploma"]), ("Niveau de classe", row["class_level"]),
        ("Référentiel", f"{view.tree.title} (version {view.tree.version})"),
        ("Auteur", f"{row['author.first_name']} {row['author.last_name']}"),
        ("Contexte", row["context"]), ("Matériels et logiciels", row["materials"]), ("Liens", row["links"]),
        ("Ressources", row["resources"]),
    ]


def _competency_lines(view) -> list[tuple[str, str, str, str]]:
    return [(node.code, node.label, ", ".join(sel.complexities) or "—", ", ".join(sel.hazards) or "—")
            for node, sel in view.competencies]


def scenario_docx(view) -> bytes:
    """The scenario as a Word document: title, fields, and a table of the competencies."""
    from docx import Document

    document = Document()
    document.core_properties.title = view.row["title"]
    document.add_heading(view.row["title"], level=1)
    for label, value in _sections(view):
        if value:
            document.add_heading(label, level=2)
            for line in str(value).splitlines() or [""]:
                document.add_paragraph(line)
    document.add_heading("Compétences évaluées", level=2)
    table = document.add_table(rows=1, cols=4)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ("Code", "Compétence", "Complexités", "Aléas"), strict=True):
        cell.text = text
    for line in _competency_lines(view):
        cells = table.add_row().cells
        for cell, text in zip(cells, line, strict=True):
            cell.text = text
    output = io.BytesIO()
    document.save(output)
    return output.getvalue()


def scenario_odt(view) -> bytes:
    """The scenario as an OpenDocument text: title, fields, and a table of the competencies."""
    from odf.opendocument import OpenDocumentText
    from odf.style import Style, TextProperties
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import H, P

    document = OpenDocumentText()
    bold = Style(name="Gras", family="text")
    bold.addElement(TextProperties(fontweight="bold"))
    document.automaticstyles.addElement(bold)
    document.text.addElement(H(outlinelevel=1, text=view.row["title"]))
    for label, value in _sections(view):
        if value:
            document.text.addElement(H(outlinelevel=2, text=label))
            for line in str(value).splitlines() or [""]:
                document.text.addElement(P(text=line))
    document.text.addElement(H(outlinelevel=2, text="Compétences évaluées"))
    table = Table(name="Competences")
    table.addElement(TableColumn(numbercolumnsrepeated=4))
    for line in [("Code", "Compétence", "Complexités", "Aléas"), *_competency_lines(view)]:
        row = TableRow()
        for text in line:
            cell = TableCell(valuetype="string")
            cell.addElement(P(text=text))
            row.addElement(cell)
        table.addElement(row)
    document.text.addElement(table)
    output = io.BytesIO()
    document.write(output)
    return output.getvalue()


def blank_sheet_pdf(grid, levels, created: datetime) -> bytes:
    """The blank evaluation sheet of a grid (learners × competencies, empty cells, a comment line), PDF/A."""
    from portal.documents import pdf

    return pdf.render_pdf("competencies/documents/sheet.html", {"grid": grid, "levels": levels, "created": created},
                          created=created, stylesheets=["competencies/documents/sheet.css"],
                          title=gettext("Fiche d'évaluation — %(title)s") % {"title": grid.evaluation["title"]})
