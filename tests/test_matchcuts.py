"""Match cuts: average precision per flavour on a reel with planted matches, the parts
(dedupe, search, cache), and the ``matchcuts`` job and command through a live engine."""

from __future__ import annotations

import json
import shutil

import numpy as np
import opentimelineio as otio
import pytest

from moviola.cli.main import main as cli_main
from moviola.engine.matchcuts.cache import MediaCache
from moviola.engine.matchcuts.dedupe import duplicate_groups
from moviola.engine.matchcuts.features import describe_shots, flavours
from moviola.engine.matchcuts.metrics import average_precision
from moviola.engine.matchcuts.rank import rank_pairs
from moviola.engine.matchcuts.search import neighbours, recall_at
from moviola.engine.media.identity import media_key
from moviola.engine.media.probe import probe
from moviola.engine.media.source import open_source
from moviola.engine.shots.detect import Shot
from moviola.plugin import errors
from reels import cuts_reel, matchcut_reel


@pytest.fixture(scope="module")
def reel(tmp_path_factory):
    return matchcut_reel(tmp_path_factory.mktemp("match") / "ep1.mp4")


@pytest.fixture(scope="module")
def vectors(reel):
    kinds = flavours(["all"])
    with open_source(reel.path) as source:
        found = describe_shots(source, [Shot(s, e) for s, e in reel.shots], kinds, 24.0)
    return kinds, {k.NAME: np.stack([v[k.NAME] for v in found]) for k in kinds}


def ranking(kind, matrix, n):
    look = np.stack([v / np.linalg.norm(v) for v in matrix["look"]])
    representative = duplicate_groups(look, list(range(n)))
    adjacent = {(i, i + 1) for i in range(n - 1)}
    pairs, _ = rank_pairs(kind, matrix[kind.NAME], representative, adjacent, top=1000)
    return pairs


# ---- quality: planted matches among distractors --------------------------------------------------

def test_average_precision_per_flavour(reel, vectors):
    kinds, matrix = vectors
    by_name = {k.NAME: k for k in kinds}
    n = len(reel.shots)
    for name, planted in (("frame", reel.frame_pairs), ("motion", reel.motion_pairs)):
        pairs = ranking(by_name[name], matrix, n)
        ap = average_precision([(p.a, p.b) for p in pairs], planted)
        assert ap >= 0.8, (name, ap, [(p.a, p.b, round(p.score, 2)) for p in pairs[:8]])


def test_near_duplicates_and_neighbours_are_never_suggested(reel, vectors):
    kinds, matrix = vectors
    n = len(reel.shots)
    (original, repeat), = reel.duplicates
    look = np.stack([v / np.linalg.norm(v) for v in matrix["look"]])
    representative = duplicate_groups(look, list(range(n)))
    assert representative[repeat] == original               # the earliest shot stays
    assert sum(r != i for i, r in enumerate(representative)) == 1
    for kind in kinds:
        for pair in ranking(kind, matrix, n):
            assert repeat not in (pair.a, pair.b) and pair.b - pair.a > 1


def test_flavours_describe_what_they_see(vectors):
    kinds, matrix = vectors
    motion = next(k for k in kinds if k.NAME == "motion")
    # Shots 1 and 11 pan right; 8 pans left; 0 is still (see reels._ORDER).
    assert motion.words(matrix["motion"][1]) == "pan right"
    assert motion.words(matrix["motion"][8]) == "pan left"
    assert not motion.usable(matrix["motion"][0])


# ---- the parts ------------------------------------------------------------------------------------

def test_index_search_recalls_the_exact_neighbours():
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(60, 32))
    x = centres[rng.integers(0, 60, 3000)] + 0.3 * rng.normal(size=(3000, 32))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    exact, _, method = neighbours(x, 10)
    assert method == "exact"
    approx, sims, method = neighbours(x, 10, exact_limit=100)
    assert method == "ivf" and np.all(np.diff(sims, axis=1) <= 1e-6)
    assert not np.any(approx == np.arange(len(x))[:, None])       # never your own neighbour
    assert recall_at(approx, exact) >= 0.95


def test_index_search_widens_for_loose_clusters_instead_of_losing_recall():
    # Almost no structure: small probes miss; the calibration widens the search, or goes
    # exact when no width up to a quarter of the lists reaches the target.
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2500, 24)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    exact, _, _ = neighbours(x, 10)
    approx, _, method = neighbours(x, 10, exact_limit=100)
    assert method in ("ivf", "exact") and recall_at(approx, exact) >= 0.95


def test_index_search_with_exact_duplicates_drops_only_one_self():
    rng = np.random.default_rng(5)
    base = rng.normal(size=(400, 16)).astype(np.float32)
    x = np.repeat(base, 15, axis=0)                                # 15 copies of each row
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids, sims, method = neighbours(x, 5, exact_limit=100)
    assert method == "ivf" and ids.shape == (len(x), 5)
    assert np.all(ids >= 0) and np.allclose(sims, 1.0, atol=1e-5)
    assert np.all(ids // 15 == np.arange(len(x))[:, None] // 15)   # its own copies


def test_cache_keys_follow_content_not_names(reel, tmp_path):
    copy = tmp_path / "copy.mp4"
    shutil.copy(reel.path, copy)
    assert media_key(probe(str(copy))) == media_key(probe(str(reel.path)))
    other = cuts_reel(tmp_path / "other.mp4")
    assert media_key(probe(str(other.path))) != media_key(probe(str(reel.path)))
    cache = MediaCache(tmp_path / "cache")
    cache.save("k", "features", {"v": 1}, {"0-10": np.ones(3, np.float32)})
    assert cache.load("k", "features", {"v": 1})["0-10"].tolist() == [1, 1, 1]
    assert cache.load("k", "features", {"v": 2}) == {}
    assert MediaCache(None).load("k", "features", {"v": 1}) == {}


def test_average_precision_counts_missed_pairs_as_zero():
    assert average_precision([(1, 2), (3, 4)], [(2, 1)]) == 1.0
    assert average_precision([(0, 9), (1, 2)], [(1, 2), (5, 6)]) == pytest.approx(0.25)


# ---- the job and the command ---------------------------------------------------------------------

def test_matchcuts_job_puts_markers_and_a_review_timeline(client, reel, tmp_path):
    out = tmp_path / "out"
    # The classical detector's shots are exact on these reels; detection is tested in test_shots.
    result = client.submit("matchcuts", {"inputs": [str(reel.path)], "out": str(out),
                                         "top": 4, "flavor": "all", "backend": "classical"}).wait()
    pairs = result["pairs"]
    assert [p["score"] for p in pairs] == sorted((p["score"] for p in pairs), reverse=True)
    shot_of = {s: i for i, s in enumerate(reel.shots)}
    planted = {"frame": reel.frame_pairs, "motion": reel.motion_pairs}
    for flavour in ("frame", "motion"):
        found = {tuple(sorted((shot_of[(p["a"]["start"], p["a"]["end"])],
                               shot_of[(p["b"]["start"], p["b"]["end"])])))
                 for p in pairs if p["flavor"] == flavour}
        assert found == planted[flavour]
    assert {"media", "start", "end"} <= set(pairs[0]["a"]) and "→" in pairs[0]["note"]
    assert len(result["duplicates"]) == 1

    (marked,) = result["otio"]
    timeline = otio.adapters.read_from_file(marked)
    markers = [m for clip in timeline.find_clips() for m in clip.markers]
    assert len(markers) == 2 * len(pairs)
    first = [m for m in markers if m.metadata["moviola"]["rank"] == 1]
    assert {m.metadata["moviola"]["side"] for m in first} == {"A", "B"}
    ranges = sorted((m.marked_range.start_time.to_frames(), m.marked_range.end_time_exclusive().to_frames())
                    for m in first)
    assert ranges == sorted([(pairs[0]["a"]["start"], pairs[0]["a"]["end"]),
                             (pairs[0]["b"]["start"], pairs[0]["b"]["end"])])
    assert first[0].comment.startswith(f"Match cut ({pairs[0]['flavor']}, ")

    review = otio.adapters.read_from_file(result["review_otio"])
    clips = list(review.find_clips())
    assert len(clips) == 2 * len(pairs)
    a, b = clips[0], clips[1]
    assert a.source_range.end_time_exclusive().to_frames() == pairs[0]["a"]["end"]   # A's tail
    assert b.source_range.start_time.to_frames() == pairs[0]["b"]["start"]           # B's head
    assert len(review.tracks.markers) == len(pairs)
    with open(result["json"]) as fh:
        assert json.load(fh)["pairs"] == pairs


def test_rerun_and_one_more_episode_only_compute_what_is_new(client, reel, tmp_path):
    ep2 = cuts_reel(tmp_path / "ep2.mp4", variant=2)   # content no other test has cached
    motion = {"flavor": "motion", "backend": "classical"}   # exact shots on these reels
    first = client.submit("matchcuts", {"inputs": [str(reel.path)], **motion}).wait()
    again = client.submit("matchcuts", {"inputs": [str(reel.path)], **motion}).wait()
    assert again["cache"]["misses"] == 0 and again["pairs"] == first["pairs"]
    both = client.submit("matchcuts", {"inputs": [str(reel.path), str(ep2.path)], **motion}).wait()
    new_shots = both["shots"] - first["shots"]
    assert new_shots == len(ep2.shots)
    assert both["cache"]["misses"] == 1 + new_shots          # ep2's detection and its shots


def test_matchcuts_of_a_timeline_mark_its_clips(client, reel, tmp_path):
    ref = otio.schema.ExternalReference(target_url=str(reel.path), available_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, 24), otio.opentime.RationalTime(reel.frame_count, 24)))
    timeline = otio.schema.Timeline(name="edit")
    track = otio.schema.Track(name="V1")
    timeline.tracks.append(track)
    for start, end in reel.shots:
        track.append(otio.schema.Clip(name=f"s{start}", media_reference=ref.clone(),
                                      source_range=otio.opentime.TimeRange(
                                          otio.opentime.RationalTime(start, 24),
                                          otio.opentime.RationalTime(end - start, 24))))
    path = tmp_path / "edit.otio"
    otio.adapters.write_to_file(timeline, str(path))
    result = client.submit("matchcuts", {"inputs": [str(path)], "out": str(tmp_path / "o"),
                                         "flavor": "frame", "top": 4}).wait()
    assert {p["a"]["clip"] for p in result["pairs"]} <= {f"s{s}" for s, _ in reel.shots}
    marked = otio.adapters.read_from_file(result["otio"][0])
    for clip in marked.find_clips():
        for marker in clip.markers:
            assert marker.marked_range == clip.source_range


def test_bad_matchcuts_input_is_refused_before_work(client, tmp_path):
    with pytest.raises(errors.MediaNotFoundError):
        client.submit("matchcuts", {"inputs": [str(tmp_path / "nope.otio")]})
    with pytest.raises(errors.InvalidParamsError, match="flavor"):
        client.submit("matchcuts", {"inputs": [str(tmp_path)], "flavor": "colour"})
    with pytest.raises(errors.InvalidParamsError, match="inputs"):
        client.submit("matchcuts", {"inputs": []})


def test_matchcuts_command_prints_json(engine, reel, tmp_path, capsys):
    out = tmp_path / "result.otio"
    code = cli_main(["--no-autostart", "matchcuts", str(reel.path), "--flavor", "frame",
                     "--top", "3", "--out", str(out), "--json"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["otio"] == [str(out)] and printed["review_otio"] == str(tmp_path / "result.review.otio")
    assert len(printed["pairs"]) == 3
    for pair in printed["pairs"]:
        assert pair["flavor"] == "frame" and 0 < pair["score"] <= 1
        assert {"media", "start", "end"} <= set(pair["a"]) and {"media", "start", "end"} <= set(pair["b"])
