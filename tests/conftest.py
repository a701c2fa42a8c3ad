"""Test-wide set-up: point the portal at a throwaway database before anything imports ``portal``.

``PORTAL_TEST_ENGINE=sqlite`` (default) or ``postgres`` picks the engine of the run. Unit tests never touch the
database, but importing some modules reads the settings, so the whole run shares one environment.
"""

from __future__ import annotations

import os

from tests import dbsetup

ENGINE = os.environ.get("PORTAL_TEST_ENGINE", "sqlite")
DATABASE = dbsetup.prepare_environment(ENGINE)


def pytest_report_header(config):
    """Say which engine this run uses."""
    where = DATABASE.get("database", DATABASE["data_dir"])
    return f"portal database engine: {'PostgreSQL' if ENGINE == 'postgres' else 'SQLite'} ({where})"


def pytest_sessionfinish(session, exitstatus):
    """Drop the throwaway database."""
    dbsetup.drop(DATABASE)
