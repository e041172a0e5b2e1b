"""``moviola engine start|status|stop``."""

from __future__ import annotations

import argparse
import time

from moviola.plugin.client import EngineClient
from moviola.plugin.discovery import read_discovery
from moviola.plugin.errors import EngineNotRunningError
from moviola.plugin.launch import start_engine

from .report import emit_json, human_bytes


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("engine", help="start, inspect or stop the local engine")
    actions = parser.add_subparsers(dest="action", required=True)

    start = actions.add_parser("start", help="run the engine (foreground unless --detach)")
    start.add_argument("--detach", action="store_true", help="run in the background and return")
    from moviola.engine.main import add_engine_flags  # the engine's own flags, one definition
    add_engine_flags(start)
    start.set_defaults(func=start_cmd)

    status = actions.add_parser("status", help="versions, devices, backends, models, jobs")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=status_cmd)

    stop = actions.add_parser("stop", help="stop the engine; running jobs are cancelled")
    stop.add_argument("--json", action="store_true")
    stop.set_defaults(func=stop_cmd)


def start_cmd(args: argparse.Namespace) -> int:
    if args.detach:
        found = read_discovery()
        if found is not None:
            try:
                with EngineClient.connect(autostart=False, timeout=3.0) as client:
                    client.hello()
                    print(f"engine already running at {found.endpoint} (pid {found.pid})")
                    return 0
            except EngineNotRunningError:
                pass
            except Exception:
                pass
        found = start_engine()
        print(f"engine started at {found.endpoint} (pid {found.pid}); log: {found.log_path}")
        return 0
    from moviola.engine.main import run_engine, settings_from_args
    return run_engine(settings_from_args(args), foreground_log=not args.quiet)


def status_cmd(args: argparse.Namespace) -> int:
    with EngineClient.connect(autostart=False, timeout=args.timeout) as client:
        info = client.hello()
        info["jobs"] = client.list_jobs(include_finished=False)
    if args.json:
        emit_json(info)
        return 0
    uptime = time.time() - info["started_at"]
    print(f"Moviola engine {info['engine_version']} (protocol {'.'.join(map(str, info['protocol']))})")
    print(f"  endpoint   {info['endpoint']}  pid {info['pid']}  up {uptime:.0f} s")
    print("  devices")
    for dev in info["devices"]:
        if dev["type"] == "cpu":
            print(f"    cpu   {dev['name']}, {dev['cores']} cores, {human_bytes(dev['memory_bytes'])}")
        elif dev["type"] == "opencl":
            print(f"    opencl:{dev['index']} {dev['name']} ({dev.get('platform')}, "
                  f"{dev.get('kind')}), {human_bytes(dev['memory_bytes'])}")
        elif "error" in dev:
            print(f"    cuda  unavailable: {dev['error']}")
        else:
            print(f"    cuda:{dev['index']} {dev['name']}, {human_bytes(dev['memory_bytes'])}")
    runtimes = ", ".join(f"{k}{'' if v else ' (absent)'}" for k, v in info["runtimes"].items())
    print(f"  runtimes   {runtimes}")
    print("  backends")
    for task, rows in info["backends"].items():
        names = ", ".join(r["name"] + ("" if r["available"] else " (cannot run)") for r in rows)
        print(f"    {task:<12} {names}")
    models = ", ".join(m["name"] for m in info["models"]) or "none installed (weight-free backends only)"
    print(f"  models     {models}")
    print(f"  job kinds  {', '.join(k['name'] for k in info['job_kinds'])}")
    print(f"  jobs       {len(info['jobs'])} active")
    for job in info["jobs"]:
        fraction = job.get("progress", {}).get("fraction", 0.0)
        print(f"    {job['job_id'][:12]}  {job['kind']:<10} {job['state']:<9} {fraction * 100:5.1f}%")
    print(f"  log        {info['log_path']}")
    print(f"  config     {info['config_path']}")
    return 0


def stop_cmd(args: argparse.Namespace) -> int:
    try:
        client = EngineClient.connect(autostart=False, timeout=args.timeout)
    except EngineNotRunningError:
        if args.json:
            emit_json({"stopped": False, "running": False})
        else:
            print("no engine is running")
        return 0
    with client:
        pid = client.pid
        reply = client.shutdown(wait=True)
    if args.json:
        emit_json({"stopped": bool(reply.get("stopped")), "pid": pid})
    else:
        print(f"engine (pid {pid}) stopped")
    return 0
