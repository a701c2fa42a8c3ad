"""Markup written in Python for the parts of a page repeated hundreds of times (grid cells, attempt rows).

Jinja spends about a microsecond on each ``{{ … }}``, an include and a macro call cost a new context each: for a
row repeated on every line of a list, that was most of the page. The functions that write such rows build one
string with f-strings, every value passed through :func:`text` (escaped). They are still the only definition of
their markup: the template that used to hold it calls them, for the whole page and for the htmx fragment alike.
"""

from __future__ import annotations

import html

from markupsafe import escape


def text(value) -> str:
    """``value`` escaped for HTML (``& < > " '``)."""
    return str(escape(value))


def ascii_text(value) -> str:
    """``value`` escaped for HTML and written in ASCII (character references for the rest). A grid's 400 KB of
    markup then stays one byte a character: building, copying and encoding it cost a tenth of what text with a
    single « é » or « — » in it costs (Python stores such a string two bytes a character)."""
    return _ascii(str(escape(value)))


def ascii_content(value: str) -> str:
    """Like :func:`ascii_text` for the content of an element (an ``<option>``'s words): ``&``, ``<`` and ``>``
    escaped, quotes left as they are — they need escaping in an attribute only, and « d'acquisition » written
    ``d&#39;acquisition`` in each of a grid's 750 selects was 7 KB."""
    return _ascii(html.escape(value, quote=False))


def _ascii(escaped: str) -> str:
    return escaped.encode("ascii", "xmlcharrefreplace").decode("ascii")


class Html:
    """Markup that Jinja writes out as it is, like :class:`markupsafe.Markup`, without copying it first.

    Jinja escapes every ``{{ … }}``; for a ``Markup`` that means ``Markup(value.__html__())``, a copy of the whole
    string, and copying a ``str`` subclass is slow (1.7 ms for a grid). ``__html__`` here hands over a plain
    ``str``: one quick copy."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __html__(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


def feedback(error_id: str, error: str | None, notice: str | None, write=text) -> tuple[str, str]:
    """The attributes that tie a field to its error (``aria-invalid``, ``aria-describedby``), and the error or
    notice written under it."""
    invalid = extra = ""
    if error:
        invalid = f' aria-invalid="true" aria-describedby="{error_id}"'
        extra = f'<p class="field-error" id="{error_id}" role="alert">{write(error)}</p>'
    if notice:
        extra += f'<span class="visually-hidden" role="status">{write(notice)}</span>'
    return invalid, extra
