"use strict";
// The panel's logic against a real engine's WebSocket gateway: a sequence built in the
// stand-in `premierepro` from the engine's own sample media (an H.264 of four synthetic shots)
// goes out as an OTIO work timeline, and each job's result comes back as Premiere edits.

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");

const ppro = require("./fake_premierepro");
const { startEngine, makeSample } = require("./engine");
const { GatewayClient, EngineError, EngineUnreachable } = require("../lib/gateway");
const { readSequence, toOtio } = require("../lib/sequence");
const { runJob, summary } = require("../lib/run");
const { readDiscovery, UNREACHABLE } = require("../lib/engine_info");

const TIMEBASE = 254016000000 / 24;   // ticks a frame at 24 fps
let engine;
let client;
let sample;

test.before(async () => {
  engine = await startEngine();
  client = await GatewayClient.open(engine.info);
  sample = await makeSample(engine, client);
});

test.after(async () => {
  if (client) client.close();
  if (engine) await engine.stop();
});

/** V1: the sample's edit (clips of single shots); V2: the whole movie at record 100. */
function buildProject({ whole = true } = {}) {
  const project = ppro.Project._open("Moviola test");
  const seq = project._newSequence("Edit 1", TIMEBASE, 2);
  const media = project._clip("moviola_sample.mp4", sample.video, 24);
  for (const e of sample.edit) {
    seq._addClip(0, media, { start: e.record_start, frames: e.duration, inFrame: e.source_start, name: e.clip });
  }
  if (whole) seq._addClip(1, media, { start: 100, frames: sample.frame_count, inFrame: 0, name: "whole" });
  return { project, seq };
}

function writer(folder) {
  fs.mkdirSync(folder, { recursive: true });
  return async (name, text) => { const p = path.join(folder, name); fs.writeFileSync(p, text); return p; };
}

const run = (job, extra = {}) => runJob({ ppro, client, writeText: writer(path.join(engine.home, "work")), job,
                                          out: path.join(engine.home, "out", job), extra });

test("the sequence becomes an OTIO timeline of its clips at their record frames", async () => {
  const { seq } = buildProject();
  const read = await readSequence(ppro, seq);
  assert.equal(read.rate, 24);
  assert.equal(read.clips.length, sample.edit.length + 1);
  const otio = toOtio(read);
  const [v1, v2] = otio.tracks.children;
  const clips = v1.children.filter((c) => c.OTIO_SCHEMA === "Clip.2");
  assert.deepEqual(clips.map((c) => c.source_range.start_time.value), sample.edit.map((e) => e.source_start));
  assert.deepEqual(clips.map((c) => c.source_range.duration.value), sample.edit.map((e) => e.duration));
  assert.equal(v2.children[0].OTIO_SCHEMA, "Gap.1");
  assert.equal(v2.children[0].source_range.duration.value, 100);
  assert.equal(v2.children[1].media_references.DEFAULT_MEDIA.target_url, sample.video);
});

test("shots: a marker at every cut, one undo step adds them, a re-run replaces them", async () => {
  const { project, seq } = buildProject();
  const report = await run("shots");
  const markers = (await ppro.Markers.getMarkers(seq)).getMarkers();
  // The whole movie on V2 from record 100 cuts at its shots' starts: 100+24, 100+48, 100+72.
  const frames = markers.map((m) => Math.round(m.getStart().ticksNumber / TIMEBASE));
  assert.deepEqual(frames, sample.shots.slice(1).map((s) => 100 + s.start));
  assert.equal(report.markers, 3);
  assert.ok(markers.every((m) => m.getType() === ppro.Marker.MARKER_TYPE_COMMENT && /hard cut/.test(m.getComments())));
  assert.ok(markers.every((m) => m.getColorIndex() === ppro.Constants.MarkerColor.BLUE));
  assert.deepEqual(project._undo.map((s) => s.label), ["Moviola: shots", "Moviola: marker colours"]);
  await run("shots");
  assert.equal((await ppro.Markers.getMarkers(seq)).getMarkers().length, 3, "a re-run replaces its markers");
  project._undoLast();
  project._undoLast();
  assert.equal((await ppro.Markers.getMarkers(seq)).getMarkers().length, 3, "undo brings back the first run's markers");
  project._undoLast();
  project._undoLast();
  assert.equal((await ppro.Markers.getMarkers(seq)).getMarkers().length, 0);
  assert.match(summary(report), /3 marker\(s\)/);
});

test("match cuts: two markers a pair, each note naming both shots; the review timeline written", async () => {
  const { seq } = buildProject();
  const report = await run("matchcuts");
  const markers = (await ppro.Markers.getMarkers(seq)).getMarkers();
  assert.ok(markers.length >= 2 && markers.length % 2 === 0, `markers: ${markers.length}`);
  assert.equal(report.markers, markers.length);
  for (const m of markers) {
    assert.match(m.getName(), /^Match cut #\d+ [AB]$/);
    assert.match(m.getComments(), /cut from "[^"]+" \(V\d\) shot \d+ to "[^"]+" \(V\d\) shot \d+/);
    assert.ok([0, 3, 4].includes(m.getColorIndex()), "coloured by flavour");
  }
  assert.ok(report.review && fs.existsSync(report.review), `review timeline: ${report.review}`);
  assert.match(summary(report), /Review timeline \(File > Import\)/);
});

test("depth: sequences imported into a Moviola bin, placed above their clips in one undo step", async () => {
  const { project, seq } = buildProject({ whole: false });
  // The weight-free backend at a small working size keeps the test quick on a CPU.
  const report = await run("depth", { backend: "parallax", working_size: 64 });
  const bin = (await (await project.getRootItem()).getItems()).find((i) => i.name === "Moviola");
  assert.ok(bin, "a Moviola bin");
  assert.equal(project._imports.length, report.placed.length);
  assert.ok(project._imports.every((i) => i.bin === "Moviola" && i.asNumberedStills));
  // Parallax measures the shots whose background moves; shot B's flat backdrop barely moves, so
  // the engine leaves that clip out and says why in a note, rather than place a wrong pass.
  const unmeasured = report.notes.filter((n) => /not valid/.test(n));
  assert.equal(unmeasured.length, 1, `one clip parallax cannot measure: ${report.notes.join("; ")}`);
  assert.equal(report.placed.length, sample.edit.length - 1, "one sequence for every other clip");
  assert.equal(await seq.getVideoTrackCount(), 3, "one new track above V1 and V2 (no two results overlap)");
  for (const p of report.placed) {
    const track = await seq.getVideoTrack(p.trackIndex);
    const items = track.getTrackItems(ppro.Constants.TrackItemType.CLIP, false);
    const here = items.filter((i) => i._start === p.recordFrame * TIMEBASE);
    assert.equal(here.length, 1, `a clip on V${p.trackIndex + 1} at ${p.recordFrame}`);
    assert.equal(here[0]._end - here[0]._start, p.frameCount * TIMEBASE);
    assert.equal(p.recordFrame, p.clip.recordStart, "aligned with its source clip");
    assert.equal(p.frameCount, p.clip.recordEnd - p.clip.recordStart);
  }
  assert.equal(project._undoLast(), "Moviola: depth");
  assert.equal(await seq.getVideoTrackCount(), 2, "one undo removes every placed clip and track");
});

test("matte: the selected clip with a box, its matte placed above it", async () => {
  const { seq } = buildProject();
  const first = sample.edit[1];
  const item = seq._tracks[0]._items.find((i) => i._name === first.clip);
  item._selected = true;
  const report = await run("matte", { box: first.object.box });
  assert.equal(report.placed.length, 1);
  assert.equal(report.placed[0].recordFrame, first.record_start);
  assert.equal(report.placed[0].frameCount, first.duration);
  assert.equal(report.placed[0].trackIndex, 2);
});

test("a job can be cancelled; progress streams while it runs", async () => {
  const seen = [];
  const job = await client.submit("sleep", { steps: 50, step_s: 0.1 }, { onProgress: (p) => seen.push(p.fraction) });
  while (seen.length === 0) await new Promise((r) => setTimeout(r, 20));
  await job.cancel();
  await assert.rejects(job.done, (err) => err instanceof EngineError && err.code === "cancelled");
});

test("bad input is a typed error; the engine keeps answering", async () => {
  await assert.rejects(client.submit("shots", { input: "/no/such/edit.otio" }),
                       (err) => err instanceof EngineError && /not_found|invalid/.test(err.code));
  const bad = await GatewayClient.open({ ...engine.info, token: "0".repeat(64) });
  await assert.rejects(bad.request("hello", {}), (err) => err.code === "unauthorized");
  bad.close();
  assert.ok((await client.request("heartbeat", {})).time);
});

test("an unreachable engine says so plainly", async () => {
  assert.equal(await readDiscovery(path.join(engine.home, "nowhere"), async (p) => fs.readFileSync(p, "utf8")), null);
  await assert.rejects(GatewayClient.open(null), EngineUnreachable);
  await assert.rejects(GatewayClient.open({ gateway: "ws://127.0.0.1:9", token: "x" }, { timeoutMs: 3000 }), EngineUnreachable);
  assert.match(UNREACHABLE, /not running/);
});
