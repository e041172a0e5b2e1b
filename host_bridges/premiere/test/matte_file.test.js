"use strict";
// "Use a matte file as keyframe…" against a real engine: the picked file (through a stand-in for
// UXP's storage module) becomes the matte's keyframe on the selected clip's frame under the
// playhead; the engine writes that frame as the given alpha, and the matte is placed above the clip.

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");

const ppro = require("./fake_premierepro");
const { storage } = require("./fake_uxp_storage");
const { startEngine, makeSample, python } = require("./engine");
const { GatewayClient } = require("../lib/gateway");
const { runMatteFromFile } = require("../lib/run");
const { MaskFileError, MAX_MASK_PNG_BYTES, base64 } = require("../lib/mask_keyframe");

const TIMEBASE = 254016000000 / 24;   // ticks a frame at 24 fps
const { localFileSystem, formats } = storage;
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

/** The sample's edit on V1, shot B's clip selected, the playhead `into` frames into it. */
function buildProject(into) {
  const project = ppro.Project._open("Moviola matte file");
  const seq = project._newSequence("Edit 1", TIMEBASE, 1);
  const media = project._clip("moviola_sample.mp4", sample.video, 24);
  for (const e of sample.edit) {
    seq._addClip(0, media, { start: e.record_start, frames: e.duration, inFrame: e.source_start, name: e.clip,
                             selected: e === sample.edit[1] });
  }
  seq._setPlayhead(sample.edit[1].record_start + into);
  return { project, seq, shot: sample.edit[1] };
}

/** Run a Python snippet with the project's interpreter (OpenCV reads and writes the images). */
function py(code, ...args) {
  return execFileSync(python(), ["-c", code, ...args], { encoding: "utf8" }).trim();
}

/** A soft-edged matte of the shot's object box at the sample's size, written to `file`. */
function writeMatte(file, box) {
  py(`import sys, cv2, numpy as np
x0, y0, x1, y1 = (int(float(v)) for v in sys.argv[2:6])
a = np.zeros((180, 320), np.float32)
a[y0:y1, x0:x1] = 1.0
a = cv2.GaussianBlur(a, (0, 0), 3)
cv2.imwrite(sys.argv[1], np.round(a * 255).astype(np.uint8) if sys.argv[1].endswith('.png') else np.round(a * 65535).astype(np.uint16))
`, file, ...box.map(String));
  return file;
}

/** Largest difference (0..1) between two single-channel images of any bit depth. */
function maxDifference(a, b) {
  return Number(py(`import sys, cv2, numpy as np
def read(p):
    im = cv2.imread(p, cv2.IMREAD_UNCHANGED)
    im = im[..., -1] if im.ndim == 3 else im
    return im.astype(np.float64) / np.iinfo(im.dtype).max
print(np.abs(read(sys.argv[1]) - read(sys.argv[2])).max())
`, a, b));
}

/** A client that records what it submits and passes it on to the real one. */
function recording() {
  const submitted = [];
  return { submitted, submit: (kind, params, options) => { submitted.push({ kind, params }); return client.submit(kind, params, options); } };
}

function writer(folder) {
  fs.mkdirSync(folder, { recursive: true });
  return async (name, text) => { const p = path.join(folder, name); fs.writeFileSync(p, text); return p; };
}

const runFromFile = (spy, name) => runMatteFromFile({
  ppro, client: spy, writeText: writer(path.join(engine.home, "work")), localFileSystem, formats,
  out: path.join(engine.home, "out", name), extra: { backend: "classical", format: "png" },
});

/** The written matte of source frame `frame`, beside the placed sequence's first file. */
function matteOf(report, frame) {
  const folder = path.dirname(report.placed[0].firstFile);
  const name = fs.readdirSync(folder).find((f) => new RegExp(`\\D0*${frame}\\.png$`).test(f));
  assert.ok(name, `a matte of frame ${frame} in ${folder}`);
  return path.join(folder, name);
}

test("a PNG matte file is the keyframe under the playhead, sent as bytes, written as given", async () => {
  const { shot } = buildProject(5);
  const matte = writeMatte(path.join(engine.home, "hero.png"), shot.object.box);
  localFileSystem._choose(matte);
  const spy = recording();
  const report = await runFromFile(spy, "png");
  assert.deepEqual(localFileSystem._calls.at(-1).types, ["png", "exr", "tif", "tiff"]);
  const [keyframe] = spy.submitted[0].params.keyframes;
  assert.equal(keyframe.frame, shot.source_start + 5, "the clip's source frame under the playhead");
  assert.equal(keyframe.mask_png.$bin, fs.readFileSync(matte).toString("base64"));
  assert.equal(keyframe.mask, undefined);
  assert.equal(report.keyframeFrame, shot.source_start + 5);
  assert.equal(report.placed.length, 1, "the matte placed above the clip");
  assert.equal(report.placed[0].recordFrame, shot.record_start);
  assert.equal(report.placed[0].trackIndex, 1);
  assert.ok(maxDifference(matteOf(report, keyframe.frame), matte) <= 1 / 255 + 1e-3, "the keyframe is the given alpha");
});

test("a TIFF matte file is sent as its native path", async () => {
  const { shot } = buildProject(0);
  const matte = writeMatte(path.join(engine.home, "hero.tif"), shot.object.box);
  localFileSystem._choose(matte);
  const spy = recording();
  const report = await runFromFile(spy, "tif");
  const [keyframe] = spy.submitted[0].params.keyframes;
  assert.deepEqual(keyframe, { frame: shot.source_start, object: 1, mask: matte });
  assert.ok(maxDifference(matteOf(report, shot.source_start), matte) <= 1 / 255 + 1e-3);
});

test("a cancelled picker does nothing", async () => {
  buildProject(0);
  localFileSystem._choose(null);
  const spy = recording();
  assert.equal(await runFromFile(spy, "cancelled"), null);
  assert.deepEqual(spy.submitted, []);
});

test("a PNG over 8 MiB is refused with a clear message before any submit", async () => {
  buildProject(0);
  const big = path.join(engine.home, "huge.png");
  fs.writeFileSync(big, Buffer.alloc(MAX_MASK_PNG_BYTES + 1));
  localFileSystem._choose(big);
  const spy = recording();
  await assert.rejects(runFromFile(spy, "big"), (err) => err instanceof MaskFileError && /at most 8 MiB/.test(err.message)
                       && /EXR or TIFF/.test(err.message));
  assert.deepEqual(spy.submitted, []);
});

test("a playhead off the selected clip says where to put it, before any submit", async () => {
  const { seq, shot } = buildProject(0);
  seq._setPlayhead(shot.record_start + shot.duration);
  localFileSystem._choose(writeMatte(path.join(engine.home, "off.png"), shot.object.box));
  const spy = recording();
  await assert.rejects(runFromFile(spy, "off"), /move the playhead over/);
  assert.deepEqual(spy.submitted, []);
});

test("base64 matches Node's for every padding", () => {
  for (const text of ["", "a", "ab", "abc", "abcd", "\u00ff\u0000\u0080"]) {
    const bytes = Buffer.from(text, "latin1");
    assert.equal(base64(new Uint8Array(bytes)), bytes.toString("base64"));
  }
});
