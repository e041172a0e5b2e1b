"""``moviola models list|install``: what the engine can run, and putting weights in its store.

``install NAME`` downloads the registry's pinned files after showing their size and licence
and asking (``--yes`` answers for scripts); ``install NAME --from FILE_OR_URL`` installs one
file from where the user says.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from moviola.plugin.client import EngineClient
from moviola.plugin.errors import InvalidParamsError
from moviola.plugin.model_offers import size_text

from .jobs_cmd import absolute, run_job
from .report import emit_json

EXIT_NOT_CONFIRMED = 2


def add_parsers(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="list models, install weights into the store")
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="every known model: task, licence, installed or not")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=list_cmd)
    install = actions.add_parser(
        "install", help="download a model's pinned weights, or install a file from a path or URL")
    install.add_argument("model", help="registry name, e.g. depth-anything-v2-small")
    install.add_argument("--from", dest="source",
                         help="local file or URL of one weight file (default: the registry's "
                              "pinned download of every file, where it has one)")
    install.add_argument("--file", help="which of the model's files (default: the first with "
                         "--from, every missing one without)")
    install.add_argument("--sha256", help="expected checksum of --from, where the registry has none")
    install.add_argument("--yes", "-y", action="store_true",
                         help="download without asking (size and licence are still printed)")
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
        if m["installed"] and m.get("location") == "site":
            state = "site folder"
        licence = m["license"] + ("" if m["commercial_use"] else ", non-commercial: opt-in only")
        print(f"{m['name']:<26} {m['task']:<6} {state:<14} {licence}")
        if not m["installed"]:  # where to get it: a pinned URL, else the publisher's repository
            for file in m["weights"]:
                where = f"{file['url']} (sha256 {file['sha256']})" if file.get("url") else m["source"]
                print(f"    {file['name']}: {where}")
            if m.get("install"):
                print(f"    install: {m['install']}")
    return 0


def _print_installed(result: dict[str, Any]) -> None:
    for file in result.get("files") or []:
        print(f"{result['model']}/{file['file']} installed at {file['path']} "
              f"(sha256 {str(file['sha256'])[:12]}…)")
    if not result.get("files"):
        print(f"{result['model']}: nothing to download")


def _confirmed(args: argparse.Namespace, model: dict[str, Any], files: list[dict[str, Any]]) -> bool:
    """Say what will be downloaded, then ask (``--yes``: don't). False: not confirmed."""
    sizes = [f.get("size") for f in files]
    size = size_text(sum(s for s in sizes if s), all(sizes))
    hosts = sorted({str(f["url"]).split("/")[2] for f in files})
    terms = "" if model["commercial_use"] else " (non-commercial use only)"
    out = sys.stderr if args.json else sys.stdout
    print(f"{model['name']}: {model.get('description') or model['task']}", file=out)
    print(f"  download {size} ({', '.join(f['name'] for f in files)}) from {', '.join(hosts)}, "
          f"checksums pinned", file=out)
    print(f"  licence {model['license']}{terms}", file=out)
    if args.yes:
        return True
    if not sys.stdin.isatty():
        print(f"moviola: not downloading {model['name']} without confirmation: run again with "
              f"--yes, or on a terminal", file=sys.stderr)
        return False
    answer = input("Download and install? [y/N] ").strip().lower()
    return answer in ("y", "yes")


def install_cmd(args: argparse.Namespace) -> int:
    if args.source is not None:
        source = args.source if "://" in args.source else absolute(args.source)
        params = {"model": args.model, "source": source, "file": args.file, "sha256": args.sha256}
        run_job(args, "install_model", params, _print_installed)   # Ctrl-C: nothing installed
        return 0
    if args.sha256:
        raise InvalidParamsError("--sha256 goes with --from: a download from the registry is "
                                 "checked against its own pins", detail={"param": "sha256"})
    with EngineClient.connect(autostart=not args.no_autostart, timeout=args.timeout) as client:
        models = {m["name"]: m for m in client.hello()["models"]}
        model = models.get(args.model)
        if model is None:
            raise InvalidParamsError(f"unknown model {args.model!r}; known: {', '.join(sorted(models))}",
                                     detail={"model": args.model})
        if model["installed"] and args.file is None:
            if args.json:
                emit_json({"model": model["name"], "installed": True, "folder": model["folder"],
                           "files": []})
            else:
                print(f"{model['name']} is already installed ({model['folder']})")
            return 0
        wanted = [f for f in model["weights"] if args.file in (None, f["name"])]
        if not wanted:
            raise InvalidParamsError(f"model {model['name']!r} has no file {args.file!r}",
                                     detail={"param": "file"})
        unpinned = [f["name"] for f in wanted if not f.get("url")]
        if unpinned:
            raise InvalidParamsError(
                f"{model['name']} has no pinned download for {', '.join(unpinned)}; get the files "
                f"from its publisher ({model['source']}) and install each with the checksum they "
                f"list: {model.get('install') or 'moviola models install NAME --from FILE'}",
                detail={"model": model["name"]})
        if not _confirmed(args, model, wanted):
            return EXIT_NOT_CONFIRMED
        run_job(args, "install_model", {"model": model["name"], "file": args.file},
                _print_installed, client=client)
    return 0
