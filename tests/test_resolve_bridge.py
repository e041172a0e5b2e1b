"""The Resolve bridge against a fake Resolve that follows the documented scripting API
(tests/fakes/resolve_api.py) and a real engine on a real H.264 clip."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from host_pythons import HEAVY, need_python39, oldest_python
from reels import ShotSpec, encode, shot_frames

ROOT = Path(__file__).resolve().parent.parent
BRIDGE = ROOT / "host_bridges" / "resolve"
FAKES = Path(__file__).resolve().parent / "fakes"
for _p in (str(BRIDGE), str(FAKES)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import DaVinciResolveScript  # noqa: E402  (the fake, from tests/fakes)
import moviola_resolve  # noqa: E402
import resolve_api  # noqa: E402
from moviola_resolve import HostWriteError, NothingSelectedError, ResolveUnavailableError, run_job  # noqa: E402
from moviola_resolve.markers import matchcut_markers, put_markers, review_timeline  # noqa: E402
from moviola_resolve.work_timeline import build_work_timeline  # noqa: E402

SHOT = 12          # three 12-frame shots: cuts at media frames 12 and 24
START = 86400      # 01:00:00:00 at 24 fps


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("resolve-media") / "plate.mp4"
    specs = [ShotSpec(frames=SHOT, seed=i, palette=p, shape=s, centre=(0.3 + 0.2 * i, 0.5))
             for i, (p, s) in enumerate([(((40, 60, 110), (90, 140, 200)), "disc"),
                                         (((120, 90, 40), (210, 180, 120)), "square"),
                                         (((30, 90, 40), (110, 180, 90)), "figure")])]
    encode(path, (f for spec in specs for f in shot_frames(spec)))
    return str(path)


def _resolve(clip: str, **mode) -> tuple[resolve_api.Resolve, resolve_api.Timeline]:
    """A timeline starting at 01:00:00:00: item A uses media frames 4..31 at offset 10 (orange,
    under the playhead), item B frames 0..11 at offset 50 (teal)."""
    resolve = resolve_api.Resolve(**mode)
    timeline = resolve.new_timeline("Edit")
    media = resolve_api.MediaPoolItem(resolve, clip, 3 * SHOT)
    a = resolve_api.TimelineItem(resolve, media, START + 10, 28, 4, name="plate A", colour="Orange")
    b = resolve_api.TimelineItem(resolve, media, START + 50, 12, 0, name="plate B", colour="Teal")
    timeline.place(a, 1)
    timeline.place(b, 1)
    timeline.current_item = a
    return resolve, timeline


def test_proxy_comes_back_as_a_sequence_on_a_new_track_aligned_to_its_source(engine, client, clip, tmp_path):
    resolve, timeline = _resolve(clip)           # 19.1 Studio: read through the OTIO export
    report = run_job(resolve, "proxy", out=str(tmp_path / "out"), client=client,
                     params={"format": "png"}, work_folder=str(tmp_path / "work"))
    assert report.work.read_via == "otio_export"
    assert [s.name for s in report.selected] == ["plate A"]
    assert timeline.GetTrackCount("video") == 2 and timeline.GetTrackName("video", 2) == "Moviola proxy"
    [placed] = timeline.GetItemListInTrack("video", 2)
    assert placed.GetStart() == START + 10 and placed.GetDuration() == 28   # aligned, frame for frame
    media = placed.GetMediaPoolItem()
    bin_ = resolve.project.media_pool.root.GetSubFolderList()
    assert [f.GetName() for f in bin_] == ["Moviola"] and bin_[0].GetClipList() == [media]
    assert resolve.project.media_pool.GetCurrentFolder() is resolve.project.media_pool.root  # restored
    [imported] = [c for c in resolve.calls if c[1] == "ImportMedia"]
    [info] = imported[2][0]
    assert info["StartIndex"] == 4 and info["EndIndex"] == 31 and "%04d" in info["FilePath"]
    on_disk = sorted(os.listdir(os.path.dirname(info["FilePath"])))
    assert on_disk == [os.path.basename(info["FilePath"] % n) for n in range(4, 32)]
    [append] = [c for c in resolve.calls if c[1] == "AppendToTimeline"]
    assert append[2][0][0]["recordFrame"] == START + 10 and append[2][0][0]["trackIndex"] == 2
    assert append[2][0][0]["endFrame"] == 28       # exclusive on 19.x


def test_shots_become_markers_at_the_cut_frames(engine, client, clip, tmp_path):
    resolve, timeline = _resolve(clip, version=(18, 1, 4))   # no OTIO export: item by item
    report = run_job(resolve, "shots", how="colour", colour="orange", client=client,
                     out=str(tmp_path / "out"), work_folder=str(tmp_path / "work"))
    assert report.work.read_via == "items"
    # Media cuts 12 and 24, item A shows media 4.. from timeline offset 10: frames 18 and 30.
    markers = timeline.GetMarkers()
    assert sorted(markers) == [18.0, 30.0]
    for frame in (18.0, 30.0):
        data = json.loads(markers[frame]["customData"])
        assert data["moviola"] == "shot" and data["media_frame"] == frame - 10 + 4
        assert markers[frame]["color"] == "Blue"
    # A re-run replaces its own markers and leaves the user's alone.
    timeline.AddMarker(5, "Red", "editor's note", "", 1, "")
    report = run_job(resolve, "shots", how="colour", colour="Orange", client=client,
                     out=str(tmp_path / "out"), work_folder=str(tmp_path / "work2"))
    assert sorted(timeline.GetMarkers()) == [5.0, 18.0, 30.0] and report.markers == 2


def test_a_setter_that_lies_is_named(engine, client, clip, tmp_path):
    resolve, timeline = _resolve(clip, lying=("AppendToTimeline",))
    with pytest.raises(HostWriteError, match="AppendToTimeline"):
        run_job(resolve, "proxy", client=client, out=str(tmp_path / "out"),
                params={"format": "png"}, work_folder=str(tmp_path / "work"))
    resolve, timeline = _resolve(clip, lying=("AddMarker",))
    with pytest.raises(HostWriteError, match="AddMarker"):
        run_job(resolve, "shots", client=client, out=str(tmp_path / "out"),
                work_folder=str(tmp_path / "work2"))


def test_matchcut_markers_and_review_timeline(clip, tmp_path):
    resolve, timeline = _resolve(clip)
    caps = moviola_resolve.capabilities(resolve, in_process=True)
    timeline.mark_in_out = {"video": {"in": 0, "out": 100}}
    chosen = moviola_resolve.pick(timeline, "in_out")
    work = build_work_timeline(resolve, timeline, chosen, caps, str(tmp_path))
    ka, kb = (s.key for s in chosen)
    result = {"pairs": [{"rank": 1, "flavor": "motion", "score": 0.9, "note": "pan right",
                         "a": {"clip": ka, "start": 4, "end": 32}, "b": {"clip": kb, "start": 0, "end": 12}}]}
    placed, skipped = put_markers(timeline, matchcut_markers(result, work), "matchcut")
    markers = timeline.GetMarkers()
    assert sorted(markers) == [37.0, 50.0] and not skipped     # A's last frame, B's first
    assert {json.loads(m["customData"])["pair"] for m in markers.values()} == {1}
    review = review_timeline(resolve.project, timeline, caps, result, work, seconds=1.0)
    items = review.GetItemListInTrack("video", 1)
    assert [(i.GetLeftOffset(), i.GetDuration()) for i in items] == [(8, 24), (0, 12)]
    assert resolve.project.GetCurrentTimeline() is timeline


def test_free_edition_says_what_to_do_instead(clip, monkeypatch):
    resolve, _ = _resolve(clip, studio=False)
    monkeypatch.setattr(DaVinciResolveScript, "RUNNING", resolve)
    with pytest.raises(ResolveUnavailableError, match="Export > Timeline"):
        moviola_resolve.connect_external()
    caps = moviola_resolve.capabilities(resolve, in_process=True)
    assert not caps.ui_manager and any("dialogs" in n for n in caps.notes)
    resolve, timeline = _resolve(clip)
    timeline.current_item = None
    with pytest.raises(NothingSelectedError, match="playhead"):
        moviola_resolve.pick(timeline, "current")


BRIDGE_39 = r'''
import json, sys
assert sys.version_info[:2] == (3, 9), sys.version
import resolve_api, moviola_resolve
resolve = resolve_api.Resolve(version=(18, 5, 0))
timeline = resolve.new_timeline("Edit")
media = resolve_api.MediaPoolItem(resolve, sys.argv[1], 36)
item = resolve_api.TimelineItem(resolve, media, 86410, 28, 4, name="plate A")
timeline.place(item, 1)
timeline.current_item = item
report = moviola_resolve.run_job(resolve, "shots", work_folder=sys.argv[2], out=sys.argv[3])
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[4].split(",")))
print(json.dumps({"markers": sorted(timeline.GetMarkers()), "via": report.work.read_via, "heavy": heavy}))
'''


def test_bridge_on_python39_with_no_heavy_imports(engine, clip, tmp_path):
    python = need_python39(oldest_python())
    (tmp_path / "moviola").mkdir()
    (tmp_path / "moviola" / "plugin").symlink_to(ROOT / "plugin")
    (tmp_path / "moviola" / "__init__.py").write_text("")
    env = {**os.environ, "MOVIOLA_HOME": str(engine.home),
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(BRIDGE), str(FAKES)])}
    done = subprocess.run([python, "-c", BRIDGE_39, clip, str(tmp_path / "w"), str(tmp_path / "o"),
                           ",".join(sorted(HEAVY))], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out == {"markers": [18.0, 30.0], "via": "otio_export", "heavy": []}
