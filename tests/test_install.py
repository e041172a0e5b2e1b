"""`moviola install|uninstall|doctor` into a stand-in home for each system's layout.

The wheels are real: pip fetches them from the package registry for the host's Python and
platform (each distinct set once per session, then copied). On this machine's own platform a
bare Python 3.9 imports the installed client from the bridge folder and talks to a real engine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib

from host_pythons import need_python39, oldest_python
from moviola.cli.main import main
from moviola.installers import install as install_module
from moviola.installers import user_files
from moviola.installers.hosts import CLIENT_REQUIREMENTS, HOSTS, wheel_arch
from moviola.installers.layouts import Target, local_os
from moviola.installers.wheels import wheel_command

ROOT = Path(__file__).resolve().parent.parent

# The user's own Nuke start-up files: they must come out of install + uninstall byte for byte
# (init.py ends without a newline on purpose).
USER_INIT = "# my studio's init\r\nnuke.pluginAddPath('/studio/gizmos')"
USER_MENU = "import nuke\nnuke.menu('Nuke').addCommand('Studio/Thing', 'print(1)')\n"

RESOLVE_UTILITY = {
    "linux": (".local", "share", "DaVinciResolve", "Fusion", "Scripts", "Utility"),
    "macos": ("Library", "Application Support", "Blackmagic Design", "DaVinci Resolve", "Fusion",
              "Scripts", "Utility"),
    "windows": ("AppData", "Roaming", "Blackmagic Design", "DaVinci Resolve", "Support", "Fusion",
                "Scripts", "Utility"),
}
# How a CPython 3.9 extension module is named on each system (and which architecture).
ZMQ_EXTENSION = {
    "linux": "_zmq.cpython-39-x86_64-linux-gnu.so",
    "macos": "_zmq.cpython-39-darwin.so",
    "windows": "_zmq.cp39-win_amd64.pyd",
}

_FETCHED: dict[tuple, Path] = {}


@pytest.fixture(autouse=True)
def fetch_each_wheel_set_once(monkeypatch, tmp_path_factory):
    """pip really runs, once per (Python, platforms, requirements); repeats copy its result."""
    real = install_module.fetch_wheels

    def fetch(target_dir, python, platforms, requirements):
        key = (python, tuple(platforms), tuple(requirements))
        if key not in _FETCHED:
            cached = tmp_path_factory.mktemp("wheels") / "site"
            real(cached, python, platforms, requirements)
            _FETCHED[key] = cached
        shutil.copytree(_FETCHED[key], target_dir)

    monkeypatch.setattr(install_module, "fetch_wheels", fetch)


def snapshot(home: Path) -> dict[str, bytes | None]:
    """Every folder (None) and file (its bytes) under home."""
    return {str(p.relative_to(home)): (None if p.is_dir() else p.read_bytes()) for p in home.rglob("*")}


def user_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / ".nuke").mkdir(parents=True)
    (home / ".nuke" / "init.py").write_bytes(USER_INIT.encode())
    (home / ".nuke" / "menu.py").write_text(USER_MENU)
    return home


def cli(capsys, *argv: str) -> tuple[int, dict]:
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, json.loads(out) if "--json" in argv else {"text": out}


def bare_python39() -> str | None:
    """A Python 3.9 to run with -I -S: its own packages are never seen, only the installed ones."""
    candidates = [oldest_python(), shutil.which("python3.9"),
                  *sorted(str(p) for p in Path.home().glob(".pyenv/versions/3.9*/bin/python3.9"))]
    for candidate in candidates:
        check = [candidate, "-c", "import sys; assert sys.version_info[:2] == (3, 9)"] if candidate else []
        if check and subprocess.run(check, capture_output=True).returncode == 0:
            return candidate
    return None


@pytest.mark.parametrize("os_name", ["linux", "macos", "windows"])
def test_install_puts_each_bridge_where_its_host_looks_and_uninstall_restores_the_home(
        os_name, tmp_path, capsys):
    home = user_home(tmp_path)
    before = snapshot(home)
    code, out = cli(capsys, "install", "all", "--os", os_name, "--home", str(home), "--host-python", "3.9",
                    "--json")
    assert code == 0
    by_host = {r["host"]: r for r in out["hosts"]}
    # Premiere: the UXP panel as a folder and a .ccx, and the launcher its button opens.
    premiere_dir = home / ".moviola" / "bridges" / "premiere"
    assert by_host["premiere"]["status"] == "installed"
    assert "UXP Developer Tool" in by_host["premiere"]["notes"][0]
    for name in ("plugin/manifest.json", "plugin/index.html", "plugin/main.js", "plugin/lib/run.js"):
        assert (premiere_dir / name).is_file(), name
    assert not (premiere_dir / "plugin" / "test").exists()
    with zipfile.ZipFile(premiere_dir / "Moviola.ccx") as ccx:
        assert json.loads(ccx.read("manifest.json"))["host"]["app"] == "premierepro"
        assert sorted(ccx.namelist()) == sorted(p.relative_to(premiere_dir / "plugin").as_posix()
                                                for p in (premiere_dir / "plugin").rglob("*") if p.is_file())
    engine_launcher = premiere_dir / {"linux": "start-engine.sh", "macos": "start-engine.command",
                                      "windows": "start-engine.bat"}[os_name]
    script = engine_launcher.read_text()
    assert sys.executable in script and "-m moviola.engine" in script
    assert os_name == "windows" or os.access(engine_launcher, os.X_OK)

    # Nuke: the plug-in folder in ~/.nuke, added to the plug-in path from ~/.nuke/init.py.
    nuke_dir = home / ".nuke" / "moviola"
    assert by_host["nuke"]["status"] == "installed" and by_host["nuke"]["bridge_dir"] == str(nuke_dir)
    for name in ("init.py", "menu.py", "moviola_nuke/__init__.py", "moviola_bootstrap.py"):
        assert (nuke_dir / name).is_file(), name
    init = (home / ".nuke" / "init.py").read_bytes().decode()
    assert init.startswith(USER_INIT + "\r\n")  # the user's lines first, untouched
    assert f"nuke.pluginAddPath({nuke_dir.as_posix()!r})" in init
    assert (home / ".nuke" / "menu.py").read_text() == USER_MENU
    site = nuke_dir / "site-packages" / "py3.9"
    assert (site / "zmq" / "backend" / "cython" / ZMQ_EXTENSION[os_name]).is_file()
    for name in ("msgpack/__init__.py", "opentimelineio/__init__.py", "qtpy/__init__.py",
                 "moviola/plugin/client.py", "moviola/ui/panel.py"):
        assert (site / name).is_file(), name
    assert not (site / "moviola" / "__init__.py").exists()  # a namespace, like the installed one
    assert not list(site.rglob("*.pyc")) and not (site / "bin").exists()
    config = json.loads((nuke_dir / "moviola_host.json").read_text())
    assert config["engine_python"] == sys.executable and config["host_pythons"] == ["3.9"]

    # Resolve: a launcher in the per-user Utility scripts, the bridge in Moviola's own folder.
    launcher = home.joinpath(*RESOLVE_UTILITY[os_name], "Moviola.py")
    resolve_dir = home / ".moviola" / "bridges" / "resolve"
    assert launcher.is_file() and repr(str(resolve_dir)) in launcher.read_text()
    assert (resolve_dir / "Moviola.py").is_file() and (resolve_dir / "moviola_resolve").is_dir()
    resolve_site = resolve_dir / "site-packages" / "py3.9"
    assert (resolve_site / "zmq" / "backend" / "cython" / ZMQ_EXTENSION[os_name]).is_file()
    assert (resolve_site / "moviola" / "plugin").is_dir()
    assert not (resolve_site / "moviola" / "ui").exists() and not (resolve_site / "qtpy").exists()

    code, out = cli(capsys, "uninstall", "all", "--os", os_name, "--home", str(home), "--json")
    assert code == 0
    assert [r["status"] for r in out["hosts"]] == ["uninstalled", "uninstalled", "uninstalled"]
    assert snapshot(home) == before


def test_installed_client_runs_on_a_bare_python39_against_a_real_engine(engine, tmp_path, capsys):
    if local_os() != "linux":
        pytest.skip("the stand-in layouts are checked on Linux")
    python = need_python39(bare_python39())
    home = user_home(tmp_path)
    code, _ = cli(capsys, "install", "all", "--home", str(home), "--host-python", "3.9")
    assert code == 0
    script = r'''
import json, sys
folder = sys.argv[1]
sys.path.insert(0, folder)
import moviola_bootstrap
config = moviola_bootstrap.activate(folder)
import msgpack, opentimelineio, zmq
from moviola.plugin import EngineClient
from moviola.plugin.launch import engine_command
with EngineClient.connect(autostart=False, timeout=10.0, client_name="installed-py39") as client:
    version = client.hello()["engine_version"]
print(json.dumps({"modules": [m.__file__ for m in (zmq, msgpack, opentimelineio)],
                  "engine": version, "command": engine_command(), "python": list(sys.version_info[:2])}))
'''
    env = {**os.environ, "MOVIOLA_HOME": str(engine.home)}
    env.pop("MOVIOLA_PYTHON", None)
    env.pop("MOVIOLA_ENGINE_COMMAND", None)
    for folder in (home / ".nuke" / "moviola", home / ".moviola" / "bridges" / "resolve"):
        # -I -S: nothing from this Python's own site-packages, nor PYTHONPATH.
        done = subprocess.run([python, "-I", "-S", "-c", script, str(folder)], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        assert out["python"] == [3, 9]
        assert all(path.startswith(str(folder / "site-packages" / "py3.9")) for path in out["modules"])
        assert out["engine"] == engine_version()
        # The bridge starts the engine from Moviola's own environment, not from the host.
        assert out["command"][:3] == [sys.executable, "-m", "moviola.engine"]

    # Resolve's menu runs the launcher with a live `resolve` in its globals; the launcher hands
    # it to the bridge's entry script with the client on the path (a probe stands in for it).
    bridge = home / ".moviola" / "bridges" / "resolve"
    (bridge / "probe.py").write_text(
        "import json, os, zmq\n"
        "print(json.dumps({'resolve': resolve, 'zmq': zmq.__file__, 'name': __name__,\n"
        "                  'engine_python': os.environ.get('MOVIOLA_PYTHON')}))\n")
    launcher = tmp_path / "Probe.py"
    launcher.write_text(install_module.resolve_launcher(bridge, "probe.py"))
    as_resolve = ("import sys; path = sys.argv[1]; "
                  "exec(compile(open(path).read(), path, 'exec'), "
                  "{'__name__': '__main__', '__file__': path, 'resolve': 'the live Resolve'})")
    done = subprocess.run([python, "-I", "-S", "-c", as_resolve, str(launcher)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["resolve"] == "the live Resolve" and out["name"] == "__main__"
    assert out["zmq"].startswith(str(bridge / "site-packages" / "py3.9"))
    assert out["engine_python"] == sys.executable


def engine_version() -> str:
    from moviola.plugin._version import __version__

    return __version__


def test_dry_run_writes_nothing_and_lists_every_file_install_writes(tmp_path, capsys):
    home = user_home(tmp_path)
    before = snapshot(home)
    argv = ["install", "nuke", "--os", "linux", "--home", str(home), "--host-python", "3.9", "--json"]
    code, planned = cli(capsys, *argv, "--dry-run")
    assert code == 0 and snapshot(home) == before
    plan = planned["hosts"][0]
    assert plan["status"] == "would_install"
    assert plan["edits"] == [str(home / ".nuke" / "init.py")]
    assert "nuke.pluginAddPath(" in plan["notes"][0]

    code, done = cli(capsys, *argv)
    assert code == 0
    written = {str(home / p) for p, data in snapshot(home).items() if data is not None}
    written -= {str(home / ".nuke" / "init.py"), str(home / ".nuke" / "menu.py")}
    assert set(plan["files"]) == written
    assert set(done["hosts"][0]["files"]) | {done["hosts"][0]["manifest"]} == written

    # The human listing names every file too.
    code, text = cli(capsys, *argv[:-1], "--dry-run")
    assert all(path in text["text"] for path in plan["files"])

    # A file the user changed after install is kept on uninstall, and said so.
    changed = home / ".nuke" / "moviola" / "menu.py"
    changed.write_text(changed.read_text() + "# my tweak\n")
    code, out = cli(capsys, "uninstall", "nuke", "--os", "linux", "--home", str(home), "--json")
    assert code == 0 and any("changed since install, kept" in n for n in out["hosts"][0]["notes"])
    left = {p for p, data in snapshot(home).items()} - set(before)
    assert left == {".nuke/moviola", ".nuke/moviola/menu.py"}
    assert (home / ".nuke" / "init.py").read_bytes() == USER_INIT.encode()


def test_installing_again_replaces_the_install_and_keeps_one_block(tmp_path, capsys):
    home = user_home(tmp_path)
    before = snapshot(home)
    argv = ["install", "resolve", "--os", "windows", "--home", str(home), "--host-python", "3.9"]
    assert cli(capsys, *argv)[0] == 0
    assert cli(capsys, *argv)[0] == 0
    nuke = ["install", "nuke", "--os", "windows", "--home", str(home), "--host-python", "3.9"]
    assert cli(capsys, *nuke)[0] == 0
    assert cli(capsys, *nuke)[0] == 0
    init = (home / ".nuke" / "init.py").read_text()
    assert init.count(user_files.END) == 1
    # Uninstalled in the other order than installed: shared folders go with the last one.
    assert cli(capsys, "uninstall", "resolve", "--os", "windows", "--home", str(home))[0] == 0
    assert cli(capsys, "uninstall", "nuke", "--os", "windows", "--home", str(home))[0] == 0
    assert snapshot(home) == before


def test_premiere_install_says_how_to_load_the_panel_and_uninstall_restores_the_home(tmp_path, capsys):
    home = user_home(tmp_path)
    before = snapshot(home)
    code = main(["install", "premiere", "--home", str(home)])
    out = capsys.readouterr().out
    assert code == 0 and "Moviola.ccx" in out and "UXP Developer Tool" in out
    assert main(["uninstall", "premiere", "--home", str(home)]) == 0
    assert snapshot(home) == before


def test_a_file_in_the_way_is_not_overwritten(tmp_path, capsys):
    home = user_home(tmp_path)
    theirs = home.joinpath(*RESOLVE_UTILITY["linux"], "Moviola.py")
    theirs.parent.mkdir(parents=True)
    theirs.write_text("# someone else's script\n")
    code = main(["install", "resolve", "--os", "linux", "--home", str(home), "--host-python", "3.9"])
    assert code == 1
    assert "did not write are in the way" in capsys.readouterr().err
    assert theirs.read_text() == "# someone else's script\n"


@pytest.mark.parametrize("original", ["", "a = 1\n", "a = 1", "a = 1\r\nb = 2\r\n", "x\n\n"])
def test_user_file_block_keeps_every_other_byte(original, tmp_path):
    path = tmp_path / "init.py"
    if original:
        path.write_bytes(original.encode())
    edit = user_files.append_block(path, "nuke", ["import nuke", "nuke.pluginAddPath('x')"])
    text = path.read_bytes().decode()
    assert text.startswith(original) and text.count(user_files.END) == 1
    assert ("\r\n" in text) == ("\r\n" in original)  # the file's own line endings
    user_files.remove_block(edit)
    if original:
        assert path.read_bytes() == original.encode()
    else:
        assert not path.exists()
    # A block left by an install whose record is lost is replaced, never doubled.
    user_files.append_block(path, "nuke", ["import nuke"])
    user_files.append_block(path, "nuke", ["import nuke"])
    assert path.read_bytes().decode().count(user_files.BEGIN.format(host="nuke")) == 1


def test_wheel_command_asks_for_the_hosts_python_and_platform():
    home = Path("/nonexistent-home")
    expected = {"linux": "manylinux2014_x86_64", "macos": "macosx_11_0_arm64", "windows": "win_amd64"}
    for os_name, tag in expected.items():
        target = Target(os_name, home, {})
        if os_name != local_os():
            assert target.wheel_platforms() == [tag]
        command = wheel_command(Path("/t"), "3.11", target.wheel_platforms("x86_64"), CLIENT_REQUIREMENTS)
        assert command[:4] == [sys.executable, "-m", "pip", "install"]
        assert "--only-binary=:all:" in command and "--no-compile" in command
        assert command[command.index("--python-version") + 1] == "3.11.1"
        assert command[command.index("--target") + 1] == "/t"
        assert command[-len(CLIENT_REQUIREMENTS):] == list(CLIENT_REQUIREMENTS)
    # Nuke 14 on a Mac runs on Intel only: its Python gets x86_64 wheels.
    assert wheel_arch(HOSTS["nuke"], "macos", "3.9", None) == "x86_64"
    assert wheel_arch(HOSTS["nuke"], "macos", "3.11", None) is None
    assert wheel_arch(HOSTS["resolve"], "macos", "3.9", None) is None


def test_client_requirements_are_the_packages_dependencies():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert set(CLIENT_REQUIREMENTS) <= set(deps)


def test_doctor_against_a_real_engine(engine, tmp_path, capsys):
    home = user_home(tmp_path)
    argv = ["install", "resolve", "--os", "linux", "--home", str(home), "--host-python", "3.9"]
    assert cli(capsys, *argv)[0] == 0
    code, out = cli(capsys, "doctor", "--os", "linux", "--home", str(home), "--json")
    checks = {c["name"]: c for c in out["checks"]}
    assert checks["engine"]["status"] == "ok"
    assert checks["versions"]["status"] == "ok"
    assert checks["install: resolve"]["status"] == "ok"
    nuke = checks["install: nuke"]
    assert nuke["status"] == "warn" and "moviola install nuke" in nuke["fix"]
    assert checks["gpu"]["status"] in ("ok", "warn") and checks["weights"]["status"] in ("ok", "warn")
    # No matte or depth weights here: the fix is the engine's install command for each.
    with engine.client() as client:
        offers = client.hello().get("offers") or {}
    assert set(offers) == {"matte", "depth"} and checks["weights"]["status"] == "warn"
    assert all(o["command"] in checks["weights"]["fix"] for o in offers.values())
    assert code == 0 and out["status"] == "warn"

    # A file gone from the install: doctor fails and says to reinstall.
    site = home / ".moviola" / "bridges" / "resolve" / "site-packages" / "py3.9"
    next((site / "zmq").rglob("*.so")).unlink()
    code, out = cli(capsys, "doctor", "--os", "linux", "--home", str(home))
    assert code == 1
    assert "[FAIL] install: resolve" in out["text"] and "moviola install resolve" in out["text"]


def test_doctor_without_an_engine_says_how_to_start_one(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MOVIOLA_HOME", str(tmp_path / "no-engine-here"))
    code, out = cli(capsys, "doctor", "--home", str(tmp_path / "home"), "--json")
    checks = {c["name"]: c for c in out["checks"]}
    assert code == 1 and out["status"] == "fail"
    assert checks["engine"]["status"] == "fail" and "moviola engine start" in checks["engine"]["fix"]
    assert checks["gpu"]["status"] == "warn" and "versions" not in checks
