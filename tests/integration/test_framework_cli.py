"""``portal load-framework``: the command loads framework files, says when a version is already loaded, and refuses
a malformed file with every fault named on stderr and exit status 1, loading nothing.

The command runs in a subprocess with the test run's environment (``PORTAL_DATA_DIR``, ``PORTAL_DATABASE_URL``
set by ``tests/dbsetup.py``), so it uses the same throwaway database, SQLite or PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys

import anyio
import pytest

from portal.competencies import frameworks
from portal.competencies.tables import Framework, FrameworkNode
from portal.settings import ROOT

pytestmark = pytest.mark.anyio


async def portal_command(*args: str) -> subprocess.CompletedProcess:
    """Run ``portal …`` (``python -m portal.cli``) against the test database, off the event loop."""
    def run() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "portal.cli", *args], check=False, capture_output=True,
                              text=True, env=dict(os.environ), cwd=ROOT, timeout=120)

    return await anyio.to_thread.run_sync(run)


def _copy_of_demo(code: str) -> str:
    return frameworks.DEMO_FILE.read_text(encoding="utf-8").replace('code = "BACPRO-MELEC"', f'code = "{code}"')


async def test_load_framework_then_reload_is_unchanged(demo, tmp_path):
    path = tmp_path / "copie.toml"
    path.write_text(_copy_of_demo("CLI-TEST"), encoding="utf-8")
    before = await Framework.count()

    first = await portal_command("load-framework", str(path))
    assert first.returncode == 0, first.stderr
    assert "CLI-TEST version 2026.1 chargé (22 nœuds)" in first.stdout
    assert await Framework.count() == before + 1
    framework = await Framework.select(Framework.id).where(Framework.code == "CLI-TEST").first()
    assert await FrameworkNode.count().where(FrameworkNode.framework == framework["id"]) == 22

    second = await portal_command("load-framework", str(path))
    assert second.returncode == 0, second.stderr
    assert "déjà chargé, inchangé (22 nœuds)" in second.stdout
    assert await Framework.count() == before + 1


async def test_malformed_file_exits_1_with_faults_and_loads_nothing(demo, tmp_path):
    good = tmp_path / "bon.toml"
    good.write_text(_copy_of_demo("CLI-BON"), encoding="utf-8")
    bad = tmp_path / "mauvais.toml"
    bad.write_text(_copy_of_demo("CLI-MAUVAIS").replace('code = "T2-2"', 'code = "T2-1"'), encoding="utf-8")
    frameworks_before, nodes_before = await Framework.count(), await FrameworkNode.count()

    result = await portal_command("load-framework", str(good), str(bad))
    assert result.returncode == 1
    assert "mauvais.toml, nodes[1].children[1].code : « T2-1 » est déjà le code de nodes[1].children[0]" in result.stderr
    assert "Aucun référentiel chargé." in result.stderr
    assert result.stdout == ""
    assert await Framework.count() == frameworks_before  # not even the good file
    assert await FrameworkNode.count() == nodes_before


async def test_missing_file_and_version_conflict_exit_1(demo, tmp_path):
    frameworks_before = await Framework.count()
    missing = await portal_command("load-framework", str(tmp_path / "absent.toml"))
    assert missing.returncode == 1
    assert "absent.toml : fichier introuvable." in missing.stderr

    # same code and version as the loaded demo, another content: refused, and the new file before it is rolled back
    new = tmp_path / "nouveau.toml"
    new.write_text(_copy_of_demo("CLI-NOUVEAU"), encoding="utf-8")
    changed = tmp_path / "modifie.toml"
    changed.write_text(frameworks.DEMO_FILE.read_text(encoding="utf-8").replace(
        "Organiser le poste de travail", "Organiser l'atelier"), encoding="utf-8")
    conflict = await portal_command("load-framework", str(new), str(changed))
    assert conflict.returncode == 1
    assert "modifie.toml : La version « 2026.1 » du référentiel « BACPRO-MELEC » est déjà chargée" in conflict.stderr
    assert await Framework.count() == frameworks_before
