"""``moviola models list|install``: what the engine can run, and putting weights in its store."""

from __future__ import annotations

import argparse

from moviola.plugin.client import EngineClient

from .jobs_cmd import absolute, run_job
from .report import emit_json


def add_parsers(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="list models, install weights into the store")
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="every known model: task, licence, installed or not")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=list_cmd)
    install = actions.add_parser("install", help="install a weight file from a path or URL")
    install.add_argument("model", help="registry name, e.g. sam2.1-hiera-tiny")
    install.add_argument("--from", dest="source", required=True, help="local file or URL")
    install.add_argument("--file", help="which of the model's files (default: the first)")
    install.add_argument("--sha256", help="expected checksum, where the registry has none")
    install.add_argument("--json", action="store_true")
    install.set_defaults(func=install_cmd)


def list_cmd(args: argparse.Namespace) -> int:
    with EngineClient.connect(autostart=not args.no_autostart, timeout=args.timeout) as client:
        models = client.hello()["models"]
    if args.json:
        emit_json({"models": models})
        return 0
    for m in models:
        state = "installed" if m["installed"] else "not installed"
        licence = m["license"] + ("" if m["commercial_use"] else ", non-commercial: opt-in only")
        print(f"{m['name']:<26} {m['task']:<6} {state:<14} {licence}")
        if not m["installed"]:  # where to get it: a pinned URL, else the publisher's repository
            for file in m["weights"]:
                where = f"{file['url']} (sha256 {file['sha256']})" if file.get("url") else m["source"]
                print(f"    {file['name']}: {where}")
    return 0


def install_cmd(args: argparse.Namespace) -> int:
    source = args.source if "://" in args.source else absolute(args.source)
    params = {"model": args.model, "source": source, "file": args.file, "sha256": args.sha256}
    run_job(args, "install_model", params,
            lambda r: print(f"{r['model']}/{r['file']} installed at {r['path']} "
                            f"(sha256 {r['sha256'][:12]}…)"))
    return 0
