"""``moviola install|uninstall HOST`` and ``moviola doctor`` (library: moviola.installers)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from moviola.installers import doctor
from moviola.installers.hosts import HOSTS, hosts_named
from moviola.installers.install import HostReport, install, uninstall
from moviola.installers.layouts import OS_NAMES, Target, local_target

from .report import emit_json

HOST_CHOICES = [*HOSTS, "all"]
EXIT_FAILED = 1


def add_parsers(sub: argparse._SubParsersAction) -> None:
    inst = sub.add_parser("install", help="put a host bridge (Nuke, Resolve) where the host finds it")
    inst.add_argument("host", choices=HOST_CHOICES)
    inst.add_argument("--dry-run", action="store_true", help="list every file it would write; write none")
    inst.add_argument("--host-python", action="append", metavar="3.X", dest="host_pythons",
                      help="only this host Python version (repeatable; default: every version the "
                           "supported host releases run)")
    inst.add_argument("--engine-python", help="the Python that runs the engine (default: this one)")
    _add_common(inst)
    inst.set_defaults(func=install_cmd)

    uninst = sub.add_parser("uninstall", help="remove exactly what `moviola install` wrote")
    uninst.add_argument("host", choices=HOST_CHOICES)
    _add_common(uninst)
    uninst.set_defaults(func=uninstall_cmd)

    doc = sub.add_parser("doctor", help="engine, versions, host installs, GPU, weights: what to fix")
    _add_common(doc)
    doc.set_defaults(func=doctor_cmd)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true")
    # Another system's layout inside a stand-in home (tests; preparing a machine image).
    parser.add_argument("--os", choices=OS_NAMES, dest="target_os", help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--arch", help=argparse.SUPPRESS)


def _target(args: argparse.Namespace) -> Target:
    # A stand-in home takes nothing from this user's environment.
    env: dict[str, str] | None = {} if args.home is not None else None
    return local_target(args.target_os, args.home, env)


def install_cmd(args: argparse.Namespace) -> int:
    target = _target(args)
    say = _quiet if args.json else _to_stderr
    reports = [install(host, target, host_pythons=args.host_pythons, engine_python=args.engine_python,
                       arch=args.arch, dry_run=args.dry_run, say=say)
               for host in hosts_named(args.host)]
    return _finish(args, reports)


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _quiet(message: str) -> None:
    pass


def uninstall_cmd(args: argparse.Namespace) -> int:
    target = _target(args)
    return _finish(args, [uninstall(host, target) for host in hosts_named(args.host)])


def _finish(args: argparse.Namespace, reports: list[HostReport]) -> int:
    # A host asked for by name that cannot be installed is a failure; under "all" it is a note.
    failed = args.host != "all" and any(r.status == "unavailable" for r in reports)
    if args.json:
        emit_json({"hosts": [r.to_json() for r in reports]})
    else:
        for report in reports:
            _print_report(report)
    return EXIT_FAILED if failed else 0


def _print_report(report: HostReport) -> None:
    title = HOSTS[report.host].title
    if report.status == "unavailable":
        print(f"{title}: not installed: {'; '.join(report.notes)}")
    elif report.status == "not_installed":
        print(f"{title}: not installed, nothing to remove")
    elif report.status == "would_install":
        print(f"{title}: would write {len(report.files)} files and edit {len(report.edits)}:")
        for path in report.files:
            print(f"  {path}")
        for path, block in zip(report.edits, report.notes):
            print(f"  append to {path}:")
            print("".join(f"    {line}\n" for line in block.splitlines()), end="")
    elif report.status == "installed":
        print(f"{title}: installed in {report.bridge_dir} ({len(report.files)} files)")
        for path in report.edits:
            print(f"  added the Moviola lines to {path}")
        for note in report.notes:
            print(f"  {note}")
        print(f"  record: {report.manifest} (`moviola uninstall {report.host}` removes it all)")
    else:
        print(f"{title}: removed {len(report.files)} files")
        for note in report.notes:
            print(f"  {note}")


def doctor_cmd(args: argparse.Namespace) -> int:
    checks = doctor.run_checks(_target(args), timeout=args.timeout)
    overall = doctor.worst(checks)
    if args.json:
        emit_json({"status": overall, "checks": [c.to_json() for c in checks]})
    else:
        marks = {doctor.OK: "ok  ", doctor.WARN: "warn", doctor.FAIL: "FAIL"}
        for check in checks:
            print(f"[{marks[check.status]}] {check.name}: {check.detail}")
            if check.status != doctor.OK and check.fix:
                print(f"       fix: {check.fix}")
    return EXIT_FAILED if overall == doctor.FAIL else 0
