"use strict";
// The panel's pure pieces, without an engine: lanes for overlapping results, retimed clips in
// the work timeline, a sequence that cannot be sent, job parameters.

const test = require("node:test");
const assert = require("node:assert/strict");

const ppro = require("./fake_premierepro");
const { readSequence, toOtio, recordFrameOf, SequenceError } = require("../lib/sequence");
const { lanes, shotMarkers } = require("../lib/actions");
const { jobParams } = require("../lib/run");
const { sourceFrameAt } = require("../lib/mask_keyframe");

const TB = 254016000000 / 25;

test("overlapping results go to a second lane, the others share the first", () => {
  assert.deepEqual(lanes([{ recordFrame: 0, frameCount: 10 }, { recordFrame: 5, frameCount: 10 },
                          { recordFrame: 10, frameCount: 5 }, { recordFrame: 15, frameCount: 1 }]), [0, 1, 0, 0]);
});

test("a speed change travels as a LinearTimeWarp; record frames divide by the speed", async () => {
  const project = ppro.Project._open();
  const seq = project._newSequence("Fast", TB, 1);
  const media = project._clip("a.mov", "/media/a.mov", 50);
  seq._addClip(0, media, { start: 10, frames: 20, inFrame: 4, speed: 2 });
  const read = await readSequence(ppro, seq);
  const [clip] = read.clips;
  assert.equal(clip.firstFrame, 8, "in point 4 sequence frames = media frame 8 at 50 fps");
  assert.equal(recordFrameOf(clip, 8 + 40, read.rate), 10 + 10, "40 media frames at 2x = 10 sequence frames");
  const otio = toOtio(read);
  const [gap, c] = otio.tracks.children[0].children;
  assert.equal(gap.source_range.duration.value, 10);
  assert.equal(c.effects[0].time_scalar, 2);
  assert.equal(c.name, "a.mov [V1.1]");
});

test("a sequence without media, or none at all, is refused by name", async () => {
  await assert.rejects(readSequence(ppro, null), SequenceError);
  const project = ppro.Project._open();
  const seq = project._newSequence("Empty", TB, 2);
  await assert.rejects(readSequence(ppro, seq), /no video clip with a media file/);
});

test("job parameters: matchcuts takes inputs; a matte needs a box; shots without a record frame are skipped", () => {
  const read = { name: "Edit 1", clips: [{ firstFrame: 12 }] };
  assert.deepEqual(jobParams("matchcuts", "/t/e.otio", "/out", read), { inputs: ["/t/e.otio"], out: "/out", name: "Edit_1" });
  assert.throws(() => jobParams("matte", "/t/e.otio", "/out", read, {}), /draw a box/);
  assert.deepEqual(jobParams("matte", "/t/e.otio", "/out", read, { box: [1, 2, 3, 4] }).keyframes,
                   [{ frame: 12, object: 1, box: [1, 2, 3, 4] }]);
  assert.equal(shotMarkers({ cuts: [{ frame: 3, kind: "hard" }, { frame: 9, kind: "fade", record_frame: 4 }] }).length, 1);
});

test("job parameters: a matte file is the keyframe on the playhead's frame, a box refining it", () => {
  const read = { name: "Edit 1", clips: [{ firstFrame: 12 }] };
  const params = jobParams("matte", "/t/e.otio", "/out", read,
                           { maskKeyframe: { mask: "/roto/a.exr" }, maskFrame: 20, box: [1, 2, 3, 4], backend: "classical" });
  assert.deepEqual(params.keyframes, [{ frame: 20, object: 1, mask: "/roto/a.exr", box: [1, 2, 3, 4] }]);
  assert.equal(params.backend, "classical");
  assert.ok(!("maskKeyframe" in params) && !("maskFrame" in params) && !("box" in params), "panel choices stay in the panel");
  const bytes = jobParams("matte", "/t/e.otio", "/out", read, { maskKeyframe: { mask_png: { $bin: "iVBO" } }, maskFrame: 13 });
  assert.deepEqual(bytes.keyframes, [{ frame: 13, object: 1, mask_png: { $bin: "iVBO" } }]);
});

test("the playhead maps to the clip's source frame through its speed; off the clip it says so", () => {
  const c = { name: "A", recordStart: 100, recordEnd: 150, firstFrame: 40, mediaRate: 24, speed: 2 };
  assert.equal(sourceFrameAt(c, 100, 24), 40);
  assert.equal(sourceFrameAt(c, 110, 24), 60);
  assert.equal(sourceFrameAt({ ...c, speed: 1, mediaRate: 48 }, 110, 24), 60);
  assert.throws(() => sourceFrameAt(c, 150, 24), /move the playhead over "A"/);
  assert.throws(() => sourceFrameAt({ ...c, reversed: true }, 110, 24), /plays reversed/);
});
