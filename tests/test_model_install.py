"""Installing neural models: the registry's pinned download with progress and cancel, checksum
mismatches, a studio's pre-filled site folder, the CLI's confirmation and offers, and the
panel's install banner.

No internet: the weights come from an HTTPS server on 127.0.0.1 started here, with a
self-signed certificate made by ``openssl`` that the engine trusts through ``SSL_CERT_FILE``.
The registry entries naming it come from ``$MOVIOLA_MODELS_PATH``, as a studio would list a
mirror. The engine downloads through its real code (urllib, TLS, redirects, checksums).
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import shutil
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from engine_harness import engine_env, start_engine_process
from moviola.engine.models.registry import ModelSpec, WeightFile
from moviola.engine.models.store import WeightsError, WeightsStore
from moviola.plugin import errors

BLOCK = 64 * 1024


def safetensors_bytes(tag: str, payload: int = 0) -> bytes:
    """A valid safetensors header, then ``payload`` bytes of tensor data."""
    header = json.dumps({"__metadata__": {"tag": tag}}).encode()
    body = (hashlib.sha256(tag.encode()).digest() * (payload // 32 + 1))[:payload]
    return len(header).to_bytes(8, "little") + header + body


MODEL = safetensors_bytes("weights", 3 * 1024 * 1024)
CONFIG = json.dumps({"model_type": "depth_anything"}).encode()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class WeightsServer:
    """HTTPS on 127.0.0.1: ``files`` by path, sent in blocks ``delay`` seconds apart."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.files: dict[str, bytes] = {}
        self.delay = 0.0
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                server.requests.append(self.path)
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    for start in range(0, len(data), BLOCK):
                        self.wfile.write(data[start:start + BLOCK])
                        self.wfile.flush()
                        time.sleep(server.delay)
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                    pass   # the client hung up: a cancelled download

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificate for the local HTTPS server")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


@pytest.fixture(scope="module")
def server(certificate):
    running = WeightsServer(*certificate)
    running.files = {"/da2/model.safetensors": MODEL, "/da2/config.json": CONFIG,
                     "/other/model.safetensors": safetensors_bytes("not the pinned file", 1024)}
    yield running
    running.close()


@pytest.fixture
def trusted(certificate, monkeypatch):
    """This process trusts the local server's certificate (as the engine does, below)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))


def entry(name: str, server: WeightsServer, *, task: str = "depth", folder: str = "/da2",
          model_sha: str | None = None, license: str = "Apache-2.0") -> dict:
    return {"name": name, "task": task, "backends": ["torch"], "license": license,
            "commercial_use": True, "description": f"{name.title()}: a test model.",
            "source": "the local test server",
            "weights": [{"name": "model.safetensors", "sha256": model_sha or sha(MODEL),
                         "size": len(MODEL), "url": server.url(f"{folder}/model.safetensors")},
                        {"name": "config.json", "sha256": sha(CONFIG),
                         "url": server.url(f"{folder}/config.json")}]}


def spec_of(data: dict) -> ModelSpec:
    return ModelSpec(**{**data, "backends": tuple(data["backends"]),
                        "weights": tuple(WeightFile(**w) for w in data["weights"])})


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if p.is_file()] if folder.exists() else []


# --- the store, in this process ------------------------------------------------------------

def test_a_download_reports_its_bytes_and_is_verified(tmp_path, server, trusted):
    spec = spec_of(entry("test-download", server))
    store = WeightsStore(tmp_path / "store")
    seen: list[tuple[int, int]] = []
    file = spec.weights[0]
    path = store.install(spec, file, str(file.url), progress=lambda d, t: seen.append((d, t)),
                         from_registry=True)
    assert path.read_bytes() == MODEL
    assert seen[0] == (0, len(MODEL)) and seen[-1] == (len(MODEL), len(MODEL))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and len(seen) > 2
    # The same URL from a client (--from) is refused: a client never steers the engine locally.
    with pytest.raises(WeightsError, match="local or private address"):
        store.install(spec, spec.weights[1], str(spec.weights[1].url))


def test_a_checksum_mismatch_is_a_typed_error_and_installs_nothing(tmp_path, server, trusted):
    spec = spec_of(entry("test-mismatch", server, folder="/other"))
    store = WeightsStore(tmp_path / "store")
    with pytest.raises(WeightsError, match="registry pins this file") as caught:
        store.install(spec, spec.weights[0], str(spec.weights[0].url), from_registry=True)
    assert caught.value.code == "invalid_params" and caught.value.detail["expected"] == sha(MODEL)
    assert not store.installed(spec) and temp_files(tmp_path / "store") == []
    assert not (store.own_folder(spec) / "model.safetensors").exists()


def test_a_cancel_from_progress_removes_the_partial_file(tmp_path, server, trusted):
    spec = spec_of(entry("test-stop", server))
    store = WeightsStore(tmp_path / "store")

    def stop(done: int, total: int) -> None:
        if done >= 4 * BLOCK:
            raise errors.JobCancelledError("job was cancelled")

    with pytest.raises(errors.JobCancelledError):
        store.install(spec, spec.weights[0], str(spec.weights[0].url), progress=stop,
                      from_registry=True)
    assert temp_files(tmp_path / "store") == [] and not store.installed(spec)


def test_a_site_folder_is_used_in_place_and_hashed_once(tmp_path, monkeypatch):
    from moviola.engine.models import store as store_module

    data = {"name": "studio-depth", "task": "depth", "backends": ["torch"], "license": "MIT",
            "commercial_use": True, "weights": [{"name": "model.safetensors"}, {"name": "config.json"}]}
    spec = spec_of(data)
    # The TD fills the site folder with the ordinary install, pointed at it.
    site = WeightsStore(tmp_path / "site")
    for name, content in (("model.safetensors", MODEL), ("config.json", CONFIG)):
        source = tmp_path / name
        source.write_bytes(content)
        site.install(spec, site.weight_file(spec, name), str(source))
    user = WeightsStore(tmp_path / "user", tmp_path / "site")
    assert user.installed(spec) and user.folder(spec) == tmp_path / "site" / "studio-depth"
    assert user.status(spec)["location"] == "site"
    hashed: list[Path] = []
    real = store_module.sha256_of
    monkeypatch.setattr(store_module, "sha256_of", lambda p: hashed.append(p) or real(p))
    assert user.verify(spec) == {"model.safetensors": sha(MODEL), "config.json": sha(CONFIG)}
    assert len(hashed) == 2
    assert user.verify(spec)["model.safetensors"] == sha(MODEL) and len(hashed) == 2  # not again
    assert not (tmp_path / "user" / "studio-depth").exists()   # nothing copied
    # A site file changed behind the manifest fails, and is read again to find out.
    (tmp_path / "site" / "studio-depth" / "config.json").write_bytes(b'{"tampered": true}')
    with pytest.raises(WeightsError, match="config.json .*fails its checksum"):
        user.verify(spec)
    # The user's own complete copy comes first.
    (tmp_path / "site" / "studio-depth" / "config.json").write_bytes(CONFIG)
    for name in ("model.safetensors", "config.json"):
        user.install(spec, user.weight_file(spec, name), str(tmp_path / name))
    assert user.folder(spec) == tmp_path / "user" / "studio-depth"
    assert user.status(spec)["location"] == "user"


# --- through a real engine -----------------------------------------------------------------

@pytest.fixture(scope="module")
def install_engine(tmp_path_factory, server, certificate):
    """An engine whose registry lists models served by the local server, and a site folder."""
    folder = tmp_path_factory.mktemp("install-engine")
    listing = folder / "mirror.json"
    listing.write_text(json.dumps([
        entry("depth-anything-v2-small", server),    # the depth offer: a pinned download
        entry("test-download", server),
        entry("test-cancel", server),
        entry("test-interrupt", server)]))
    site = folder / "site"
    (site / "site-model").mkdir(parents=True)
    (site / "site-model" / "model.safetensors").write_bytes(MODEL)
    (site / "site-listing.json").write_text(json.dumps([
        {"name": "site-model", "task": "depth", "backends": ["torch"], "license": "MIT",
         "commercial_use": True, "weights": [{"name": "model.safetensors", "sha256": sha(MODEL)}]}]))
    models_path = os.pathsep.join([os.environ["MOVIOLA_MODELS_PATH"], str(listing),
                                   str(site / "site-listing.json")])
    previous = os.environ.get("SSL_CERT_FILE")
    os.environ["SSL_CERT_FILE"] = str(certificate[0])
    try:
        running = start_engine_process(folder / "home", models_path=models_path,
                                       site_weights_dir=str(site))
    finally:
        if previous is None:
            os.environ.pop("SSL_CERT_FILE")
        else:
            os.environ["SSL_CERT_FILE"] = previous
    running.cli_env = dict(engine_env(running.home), MOVIOLA_MODELS_PATH=models_path)
    yield running
    running.stop()


def models_of(client) -> dict:
    return {m["name"]: m for m in client.hello()["models"]}


def test_the_job_downloads_with_progress_size_and_licence_up_front(install_engine, server):
    events = []
    with install_engine.client(timeout=10.0) as client:
        offer = client.hello()["offers"]["depth"]
        assert offer["model"] == "depth-anything-v2-small" and offer["download"]
        assert offer["size"] == len(MODEL) and not offer["size_exact"]   # config.json's is unlisted
        server.delay = 0.02   # about a second: progress events come every 0.1 s
        try:
            job = client.submit("install_model", {"model": "test-download"})
            result = job.wait(on_progress=lambda e: events.append(e.body))
        finally:
            server.delay = 0.0
        assert models_of(client)["test-download"]["installed"]
    bodies = [b for b in events if "bytes_total" in b]
    assert bodies[0]["license"] == "Apache-2.0" and bodies[0]["bytes_done"] == 0
    assert bodies[0]["bytes_total"] >= len(MODEL)
    assert bodies[-1]["bytes_done"] == bodies[-1]["bytes_total"] == len(MODEL) + len(CONFIG)
    assert any(0 < b["bytes_done"] < len(MODEL) and b["rate_bps"] > 0 for b in bodies)
    assert [f["file"] for f in result["files"]] == ["model.safetensors", "config.json"]
    assert result["files"][0]["sha256"] == sha(MODEL) and result["installed"]


def test_a_cancel_mid_download_leaves_the_store_untouched(install_engine, server):
    server.delay = 0.05
    try:
        with install_engine.client(timeout=10.0) as client:
            job = client.submit("install_model", {"model": "test-cancel"})
            cancelled_at = None
            for event in job.events():
                if not event.final and cancelled_at is None and event.body.get("bytes_done", 0) > 0:
                    cancelled_at = event.body["bytes_done"]
                    job.cancel()
            with pytest.raises(errors.JobCancelledError):
                job.result()
            assert cancelled_at is not None and cancelled_at < len(MODEL)
            assert not models_of(client)["test-cancel"]["installed"]
    finally:
        server.delay = 0.0
    assert temp_files(install_engine.home / "weights") == []
    assert not (install_engine.home / "weights" / "test-cancel" / "model.safetensors").exists()


def test_a_model_without_a_pinned_download_says_how_to_install_it(install_engine):
    with install_engine.client(timeout=10.0) as client:
        with pytest.raises(errors.InvalidParamsError, match="no pinned download.*--from FILE --sha256"):
            client.submit("install_model", {"model": "sam2.1-hiera-tiny"})
        offer = client.hello()["offers"]["matte"]
    assert offer["model"] == "sam2.1-hiera-tiny" and not offer["download"]
    assert "moviola models install sam2.1-hiera-tiny --file NAME --from FILE --sha256 HEX" in offer["command"]


def test_the_site_folder_serves_the_engine(install_engine):
    with install_engine.client(timeout=10.0) as client:
        model = models_of(client)["site-model"]
    assert model["installed"] and model["location"] == "site"
    assert model["folder"].endswith(os.path.join("site", "site-model"))


def cli(install_engine, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "moviola.cli", *args], env=install_engine.cli_env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


def test_cli_install_asks_first_and_yes_downloads(install_engine):
    refused = cli(install_engine, "models", "install", "test-download", "--file", "config.json")
    # Installed by the job test already? Then only its config is fetched again, with --file.
    assert refused.returncode == 2, refused.stderr
    assert "without confirmation: run again with --yes" in refused.stderr
    assert "licence Apache-2.0" in refused.stdout and "checksums pinned" in refused.stdout
    fresh = cli(install_engine, "models", "install", "depth-anything-v2-small")
    assert fresh.returncode == 2 and "download at least 3.1 MB" in fresh.stdout   # config's unlisted
    assert not (install_engine.home / "weights" / "depth-anything-v2-small").exists()
    done = cli(install_engine, "models", "install", "test-cancel", "--yes")
    assert done.returncode == 0, done.stderr
    assert "test-cancel/model.safetensors installed at" in done.stdout
    again = cli(install_engine, "models", "install", "test-cancel", "--yes")
    assert again.returncode == 0 and "already installed" in again.stdout
    unpinned = cli(install_engine, "models", "install", "sam2.1-hiera-tiny", "--yes")
    assert unpinned.returncode == 1 and "--from FILE --sha256" in unpinned.stderr


def test_cli_ctrl_c_cancels_the_download(install_engine, server):
    import signal

    server.delay = 0.05
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "moviola.cli", "models", "install", "test-interrupt", "--yes"],
            env=install_engine.cli_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        with install_engine.client(timeout=10.0) as client:
            while time.monotonic() < deadline:   # until the download is under way
                jobs = [j for j in client.list_jobs() if j["kind"] == "install_model"
                        and j["state"] == "running" and (j.get("progress") or {}).get("done", 0) > 0]
                if jobs:
                    break
                time.sleep(0.1)
            assert jobs, "the download never started"
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=30)
            assert process.returncode == 130 and "cancelled job" in stderr
            deadline = time.monotonic() + 20
            while client.job_status(jobs[0]["job_id"])["state"] == "running" \
                    and time.monotonic() < deadline:
                time.sleep(0.1)
            assert client.job_status(jobs[0]["job_id"])["state"] == "cancelled"
            assert not models_of(client)["test-interrupt"]["installed"]
    finally:
        server.delay = 0.0
    assert temp_files(install_engine.home / "weights") == []


def test_cli_matte_and_depth_offer_the_neural_model(install_engine, tmp_path):
    with install_engine.client(timeout=10.0) as client:
        sample = client.submit("sample", {"out": str(tmp_path / "sample"), "width": 160,
                                          "height": 90, "seconds_per_shot": 0.5}).wait()
    clip = sample["edit"][1]
    media, frame = sample["video"], clip["source_start"]
    box = ",".join(str(v) for v in clip["object"]["box"])
    matte = cli(install_engine, "matte", media, "--frame", str(frame), "--box", box,
                "--range", f"{frame}-{frame + 2}", "--out", str(tmp_path / "matte"))
    assert matte.returncode == 0, matte.stderr
    hint = [line for line in matte.stderr.splitlines() if line.startswith("hint:")]
    assert len(hint) == 1 and "sam2.1-hiera-tiny" in hint[0] and "--from FILE" in hint[0]
    depth = cli(install_engine, "depth", media, "--backend", "depth-anything-v2-small",
                "--out", str(tmp_path / "depth"))
    assert depth.returncode == 1 and "not installed" in depth.stderr
    hint = [line for line in depth.stderr.splitlines() if line.startswith("hint:")]
    assert len(hint) == 1 and "Install: moviola models install depth-anything-v2-small" in hint[0]
    quiet = cli(install_engine, "depth", media, "--backend", "depth-anything-v2-small",
                "--out", str(tmp_path / "depth"), "--json")
    assert quiet.returncode == 1 and "hint:" not in quiet.stderr


# --- the panel ----------------------------------------------------------------------------

def test_panel_offers_the_depth_model_installs_it_and_lists_it(qtbot, install_engine, server, tmp_path):
    pytest.importorskip("pytestqt")
    from qtpy import QtWidgets

    from moviola.ui.panel import MoviolaPanel

    panel = MoviolaPanel(discovery_file=install_engine.home / "engine.json",
                         output_dir=str(tmp_path / "out"), poll_ms=500)
    qtbot.addWidget(panel)
    panel.show()
    weights = install_engine.home / "weights" / "depth-anything-v2-small"
    try:
        panel.set_mode(panel.depth_mode)
        offer = panel.depth_mode.offer
        qtbot.waitUntil(lambda: offer.offer is not None and offer.isVisible(), timeout=20000)
        assert offer.install_button.text() == \
            "Install Depth-Anything-V2-Small (at least 3.1 MB, Apache-2.0)…"
        matte_offer = panel.matte.offer
        qtbot.waitUntil(lambda: matte_offer.offer is not None and not matte_offer.isHidden(),
                        timeout=20000)
        assert not matte_offer.install_button.isVisibleTo(matte_offer)
        assert "--from FILE --sha256" in matte_offer.text.text()

        # Cancel: the confirm dialog, then the progress bar, then Cancel mid-download.
        server.delay = 0.05
        offer.install_button.click()
        assert offer.dialog is not None and "Apache-2.0" in offer.dialog.informativeText()
        offer.dialog.button(QtWidgets.QMessageBox.StandardButton.Yes).click()
        qtbot.waitUntil(lambda: offer.job.job_id is not None and bool(offer.job.fractions)
                        and offer.job.fractions[-1] > 0, timeout=20000)
        assert offer.job.isVisibleTo(offer) and "MB at" in offer.job.state.text()
        with qtbot.waitSignal(offer.job.failed, timeout=20000):
            offer.job.cancel_button.click()
        qtbot.waitUntil(lambda: offer.install_button.isVisibleTo(offer), timeout=20000)
        assert temp_files(weights) == [] and not (weights / "model.safetensors").exists()

        # Declined: nothing starts.
        offer.install_button.click()
        offer.dialog.button(QtWidgets.QMessageBox.StandardButton.Cancel).click()
        assert not offer.job.running

        # Success: the model installs, the banner goes, the backend list names it.
        server.delay = 0.0
        offer.install_button.click()
        with qtbot.waitSignal(offer.installed, timeout=30000):
            offer.dialog.button(QtWidgets.QMessageBox.StandardButton.Yes).click()
        qtbot.waitUntil(lambda: offer.offer is None and not offer.isVisible(), timeout=20000)
        with install_engine.client(timeout=10.0) as client:
            rows = client.hello()["backends"]["depth"]
        combo = panel.depth_mode.backend
        listed = [combo.itemText(i) for i in range(combo.count())]
        assert listed == ["auto"] + [r["name"] for r in rows if r["available"]]
        assert ("depth-anything-v2-small" in listed) == next(
            r["available"] for r in rows if r["name"] == "depth-anything-v2-small")
        assert (weights / "model.safetensors").read_bytes() == MODEL
    finally:
        server.delay = 0.0
        panel.shutdown()
        shutil.rmtree(weights, ignore_errors=True)


def test_the_matte_offer_names_the_matte_backends_default_model():
    from moviola.engine.matte.sam2 import DEFAULT_MODEL
    from moviola.engine.models import offers

    assert offers.MATTE_MODEL == DEFAULT_MODEL
