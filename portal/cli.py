"""The ``portal`` command: migrate, load the demo, print the demo accounts, import the FWB directory, load the UAA
reference data, load competency frameworks, seed benchmarks, serve."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys


def _migrate() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from portal.core.db import prepare_sqlite_file

    prepare_sqlite_file()
    result = asyncio.run(run_forwards(app_name="all", migration_id="all"))
    if not result.success:
        print(result.message, file=sys.stderr)
        raise SystemExit(1)


def _demo() -> None:
    from portal.demo import load_demo

    loaded = asyncio.run(load_demo())
    print("Données de démonstration chargées." if loaded else "Données de démonstration déjà présentes.")


def _accounts() -> None:
    from portal.demo import DEMO_ACCOUNTS, DEMO_PASSWORD

    for person in DEMO_ACCOUNTS:
        for profile, _key in person.affiliations[:1]:
            print(json.dumps({"profile": profile.value, "username": person.username, "password": DEMO_PASSWORD,
                              "note": person.note}, ensure_ascii=False))


def _import_fwb(args: argparse.Namespace) -> None:
    from portal.imports.fwb import DEFAULT_PATH, import_file

    report = asyncio.run(import_file(args.path or DEFAULT_PATH))
    print(report.summary())
    for rejection in report.rejected:
        print(f"ligne {rejection.line} : {rejection.reason}", file=sys.stderr)
    if report.notes:
        print(f"{len(report.notes)} remarque(s) : implantations partagées entre établissements.")
    if not report.ok:
        raise SystemExit(1)
    print(f"Durée : {report.seconds:.1f} s.")


def _load_reference(args: argparse.Namespace) -> None:
    from portal.uaa.reference import ReferenceDataError, load_reference

    try:
        report = asyncio.run(load_reference(args.path))
    except ReferenceDataError as error:
        for message in error.messages:
            print(message, file=sys.stderr)
        raise SystemExit(1) from None
    for kind, label in (("options", "options"), ("profiles", "profils de formation"), ("uaa", "UAA")):
        counts = report[kind]
        print(f"{label} : {counts['created']} créé(s), {counts['updated']} mis à jour, {counts['unchanged']} inchangé(s)")
    for warning in report["warnings"]:
        print(f"attention — {warning}")


def _load_framework(args: argparse.Namespace) -> None:
    """Check every file first, then load them all in one transaction: any fault and nothing is loaded."""
    from pathlib import Path

    from portal.competencies.frameworks import (
        FrameworkFileError,
        FrameworkVersionConflict,
        load_framework,
        parse_framework,
    )
    from portal.core.db import atomic

    specs = []
    faulty = False
    for name in args.paths:
        path = Path(name)
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            print(f"{name} : fichier introuvable.", file=sys.stderr)
            faulty = True
            continue
        except OSError as error:
            print(f"{name} : lecture impossible ({error.strerror or error}).", file=sys.stderr)
            faulty = True
            continue
        try:
            specs.append((name, parse_framework(content, source=path.name)))
        except FrameworkFileError as error:
            for message in error.messages:
                print(message, file=sys.stderr)
            faulty = True
    if faulty:
        print("Aucun référentiel chargé.", file=sys.stderr)
        raise SystemExit(1)

    async def load_all():
        reports = []
        async with atomic():  # each load joins this one transaction: a refused version loads nothing at all
            for name, spec in specs:
                try:
                    reports.append((name, spec, await load_framework(spec)))
                except FrameworkVersionConflict as error:
                    raise FrameworkVersionConflict(f"{name} : {error}") from None
        return reports

    try:
        reports = asyncio.run(load_all())
    except FrameworkVersionConflict as error:
        print(error, file=sys.stderr)
        print("Aucun référentiel chargé.", file=sys.stderr)
        raise SystemExit(1) from None
    for name, spec, report in reports:
        if report.created:
            print(f"{name} : référentiel {spec.code} version {spec.version} chargé ({report.nodes} nœuds).")
        else:
            print(f"{name} : référentiel {spec.code} version {spec.version} déjà chargé, inchangé "
                  f"({report.nodes} nœuds).")


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    # read by the settings of the serving processes (in this one, before the settings are first loaded)
    os.environ["PORTAL_SETTLE_HEAP"] = "1"  # they settle their heap once started (portal.core.heap)
    from portal.settings import settings

    uvicorn.run("portal.app:app", host=args.host or settings.host, port=args.port or settings.port,
                workers=args.workers or settings.workers, log_level="warning" if args.quiet else "info", access_log=not args.quiet)


def _seed(args: argparse.Namespace) -> None:
    from bench.seed import seed

    asyncio.run(seed(args.size))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``portal`` command."""
    parser = argparse.ArgumentParser(prog="portal", description="Portail de l'enseignement qualifiant")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="appliquer les migrations")
    sub.add_parser("demo", help="charger les données de démonstration (une seule fois)")
    sub.add_parser("accounts", help="lister les comptes de démonstration (JSON, une ligne par compte)")
    import_fwb = sub.add_parser("import-fwb", help="importer l'annuaire des établissements FWB (CSV ou CSV.gz)")
    import_fwb.add_argument("path", nargs="?", help="fichier à importer (défaut : ../shared/data/fwb/Cartographie-Ecoles-FWB.csv.gz)")
    reference = sub.add_parser("load-reference", help="charger le référentiel des UAA (options, profils, UAA)")
    reference.add_argument("path", nargs="?", help="fichier TOML (défaut : portal/uaa/reference/uaa.toml)")
    framework = sub.add_parser("load-framework", help="charger des référentiels de compétences (fichiers TOML)")
    framework.add_argument("paths", nargs="+", metavar="FICHIER",
                           help="fichier TOML d'un référentiel (format : portal/competencies/frameworks/bacpro_melec.toml)")
    serve = sub.add_parser("serve", help="servir le portail")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, default=None, help="processus (défaut : PORTAL_WORKERS, sinon 1)")
    serve.add_argument("--quiet", action="store_true")
    seed = sub.add_parser("seed", help="générer un jeu de données réaliste pour les mesures")
    seed.add_argument("--size", choices=["small", "large"], default="large")
    args = parser.parse_args(argv)
    if args.command == "migrate":
        _migrate()
    elif args.command == "demo":
        _demo()
    elif args.command == "accounts":
        _accounts()
    elif args.command == "import-fwb":
        _import_fwb(args)
    elif args.command == "load-reference":
        _load_reference(args)
    elif args.command == "load-framework":
        _load_framework(args)
    elif args.command == "serve":
        _serve(args)
    elif args.command == "seed":
        _seed(args)


if __name__ == "__main__":
    main()
