"""What every edit form of the portal carries and checks the same way. No Litestar import.

Each edit form sends the version of the row it showed; a save on another version is refused (nobody's work is
overwritten silently). A missing or garbled version means a form from an older page, or tampered with.
"""

from __future__ import annotations

from typing import Any

INCOMPLETE_FORM = "Le formulaire est incomplet. Rechargez la page puis recommencez ; rien n'a été modifié."


def form_int(raw: Any) -> int | None:
    """A whole number a form carries (a version, an id: at most nine digits), or None when it is missing or
    garbled (each domain refuses it with :data:`INCOMPLETE_FORM` or a message of its own)."""
    text = str(raw or "").strip()
    if not text.isdigit() or len(text) > 9:
        return None
    return int(text)
