"""Portail de l'enseignement qualifiant.

Piccolo finds its configuration through ``PICCOLO_CONF``; the portal keeps it inside the package so that
importing any table, from the app, the CLI or the tests, binds it to the engine ``portal.settings`` describes.
"""

import os

os.environ.setdefault("PICCOLO_CONF", "portal.piccolo_conf")
