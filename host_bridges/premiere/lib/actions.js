"use strict";
// Results -> Premiere edits. Every write is an Action applied inside project.lockedAccess and
// project.executeTransaction, so one Edit > Undo takes back one labelled step. What Premiere
// offers no Action for (importFiles) or cannot reach inside one step (the colour of a marker
// made in the same step) is a separate step, named in docs/hosts.md.

const { tickTimeAtFrame, ticksOf } = require("./time");
const { clipsByKey, recordFrameOf } = require("./sequence");

const BIN_NAME = "Moviola";
const TAG = (kind) => `[moviola:${kind}]`;
// Constants.MarkerColor names (MAGNETA is the documented spelling), with the index Premiere's
// marker colour menu gives each where a build lacks the constant.
const COLOUR_INDEX = { GREEN: 0, RED: 1, MAGNETA: 2, ORANGE: 3, YELLOW: 4, BLUE: 6, CYAN: 7 };
const SHOT_COLOURS = { hard: "BLUE", dissolve: "CYAN", fade: "MAGNETA" };
const FLAVOUR_COLOURS = { frame: "GREEN", motion: "YELLOW", look: "ORANGE" };

/** Premiere refused or did not apply an edit. */
class HostWriteError extends Error {}

function colourIndex(ppro, name) {
  const table = (ppro.Constants && ppro.Constants.MarkerColor) || {};
  return table[name] !== undefined ? Number(table[name]) : COLOUR_INDEX[name];
}

// --- plans: pure, from a job's result and the sequence as read -----------------------------

/** One comment marker per cut the shots job found, at its record frame. */
function shotMarkers(result) {
  return (result.cuts || []).filter((cut) => cut.record_frame != null).map((cut) => {
    const kind = String(cut.kind || "hard");
    return {
      frame: Number(cut.record_frame), colour: SHOT_COLOURS[kind] || "BLUE", name: `Cut (${kind})`,
      comments: `Moviola shots: ${kind} cut, confidence ${Number(cut.confidence || 0).toFixed(2)}\n${TAG("shot")}`,
    };
  });
}

/** Two markers per pair: on A's last frame and on B's first, each note naming both shots. */
function matchcutMarkers(result, read) {
  const clips = clipsByKey(read);
  const plans = [];
  for (const pair of result.pairs || []) {
    const a = clips.get(pair.a.clip);
    const b = clips.get(pair.b.clip);
    if (!a || !b) continue;
    const flavour = String(pair.flavor || "frame");
    const shotA = `"${a.name}" (V${a.trackIndex + 1}) shot ${pair.a.shot}`;
    const shotB = `"${b.name}" (V${b.trackIndex + 1}) shot ${pair.b.shot}`;
    const head = `Match cut #${pair.rank}, ${flavour}, score ${Number(pair.score || 0).toFixed(2)}: cut from ${shotA} to ${shotB}.`;
    const comments = `${head}${pair.note ? `\n${pair.note}` : ""}\n${TAG("matchcut")}`;
    const colour = FLAVOUR_COLOURS[flavour] || "GREEN";
    plans.push({ frame: recordFrameOf(a, Number(pair.a.end) - 1, read.rate), colour,
                 name: `Match cut #${pair.rank} A`, comments });
    plans.push({ frame: recordFrameOf(b, Number(pair.b.start), read.rate), colour,
                 name: `Match cut #${pair.rank} B`, comments });
  }
  return plans;
}

/** The image sequences a depth or matte job wrote: `{clip, firstFile, frameCount, recordFrame}`. */
function generatedSequences(result, read) {
  const clips = clipsByKey(read);
  const written = result.clips || (result.files ? [result] : []);
  const outputs = [];
  for (const out of written) {
    const c = clips.get(out.clip);
    const files = out.files || [];
    if (!c || !files.length) continue;
    const frames = out.frames || [];
    const recordFrame = frames.length ? recordFrameOf(c, Number(frames[0]), read.rate) : c.recordStart;
    outputs.push({ clip: c, firstFile: files[0], frameCount: files.length, recordFrame });
  }
  return outputs;
}

/** A lane per output so that none overlaps another on its lane (first fit, in record order). */
function lanes(outputs) {
  const ends = [];
  const result = new Array(outputs.length);
  const order = outputs.map((o, i) => i).sort((i, j) => outputs[i].recordFrame - outputs[j].recordFrame);
  for (const i of order) {
    const { recordFrame, frameCount } = outputs[i];
    let lane = ends.findIndex((end) => end <= recordFrame);
    if (lane < 0) { lane = ends.length; ends.push(0); }
    ends[lane] = recordFrame + frameCount;
    result[i] = lane;
  }
  return result;
}

// --- writes ---------------------------------------------------------------------------------

/** One undoable step of `actionsOf()` (evaluated under the project's lock). */
function transact(project, label, actionsOf) {
  let ok = false;
  let count = 0;
  project.lockedAccess(() => {
    const actions = actionsOf();
    count = actions.length;
    if (!count) return;
    ok = project.executeTransaction((compound) => {
      for (const action of actions) compound.addAction(action);
    }, label);
  });
  if (count && !ok) throw new HostWriteError(`Premiere did not apply "${label}"`);
  return count;
}

function ours(marker, kind) {
  try {
    return String(marker.getComments() || "").includes(TAG(kind));
  } catch (_) {
    return false;
  }
}

/**
 * Replace this kind's Moviola markers on `sequence` with `plans` in one step, then colour them
 * in a second ("Moviola: marker colours"). Returns the markers placed.
 */
async function putMarkers(ppro, project, sequence, timebase, plans, kind, label) {
  const markers = await ppro.Markers.getMarkers(sequence);
  const old = (markers.getMarkers() || []).filter((m) => ours(m, kind));
  transact(project, label, () => [
    ...old.map((m) => markers.createRemoveMarkerAction(m)),
    ...plans.map((p) => markers.createAddMarkerAction(
      p.name, ppro.Marker.MARKER_TYPE_COMMENT, tickTimeAtFrame(ppro, p.frame, timebase),
      ppro.TickTime.TIME_ZERO, p.comments)),
  ]);
  const placed = ((await ppro.Markers.getMarkers(sequence)).getMarkers() || []).filter((m) => ours(m, kind));
  if (placed.length !== plans.length) {
    throw new HostWriteError(`Premiere holds ${placed.length} Moviola ${kind} marker(s) after "${label}", expected ${plans.length}`);
  }
  const byWhere = new Map(plans.map((p) => [`${p.name}@${p.frame}`, p]));
  transact(project, "Moviola: marker colours", () => placed.flatMap((m) => {
    const frame = Math.round(ticksOf(m.getStart()) / Number(timebase));
    const plan = byWhere.get(`${m.getName()}@${frame}`);
    return plan ? [m.createSetColorByIndexAction(colourIndex(ppro, plan.colour))] : [];
  }));
  return placed;
}

async function findBin(ppro, root) {
  for (const item of (await root.getItems()) || []) {
    const folder = ppro.FolderItem.cast(item);
    if (folder && item.name === BIN_NAME) return folder;
  }
  return null;
}

/** The project's "Moviola" bin, made (its own undo step) when missing. */
async function moviolaBin(ppro, project) {
  const root = await project.getRootItem();
  let bin = await findBin(ppro, root);
  if (!bin) {
    transact(project, "Moviola: bin", () => [root.createBinAction(BIN_NAME, false)]);
    bin = await findBin(ppro, root);
    if (!bin) throw new HostWriteError(`Premiere did not make the "${BIN_NAME}" bin`);
  }
  return bin;
}

const samePath = (a, b) => a.replace(/\\/g, "/") === b.replace(/\\/g, "/");

async function importSequence(ppro, project, bin, firstFile) {
  const ok = await project.importFiles([firstFile], true, bin, true);
  if (!ok) throw new HostWriteError(`Premiere did not import ${firstFile} as numbered stills`);
  for (const item of (await bin.getItems()) || []) {
    const clip = ppro.ClipProjectItem.cast(item);
    if (clip && samePath(String(await clip.getMediaFilePath()), firstFile)) return clip;
  }
  throw new HostWriteError(`${firstFile} is not in the "${BIN_NAME}" bin after its import`);
}

/**
 * Import each generated sequence into the "Moviola" bin, then place them all in one step on
 * new video tracks above every existing one, each at its source clip's record frame.
 */
async function placeSequences(ppro, project, sequence, timebase, outputs, label) {
  if (!outputs.length) return [];
  const bin = await moviolaBin(ppro, project);
  const items = [];
  for (const out of outputs) items.push(await importSequence(ppro, project, bin, out.firstFile));
  const before = await sequence.getVideoTrackCount();
  const lane = lanes(outputs);
  const editor = ppro.SequenceEditor.getEditor(sequence);
  const order = outputs.map((o, i) => i).sort((i, j) => outputs[i].recordFrame - outputs[j].recordFrame);
  transact(project, label, () => order.map((i) => editor.createInsertProjectItemAction(
    items[i], tickTimeAtFrame(ppro, outputs[i].recordFrame, timebase), before + lane[i], 0, true)));
  const after = await sequence.getVideoTrackCount();
  const wanted = before + Math.max(...lane) + 1;
  if (after !== wanted) {
    throw new HostWriteError(`Premiere has ${after} video tracks after "${label}", expected ${wanted}`);
  }
  return outputs.map((out, i) => ({ ...out, projectItem: items[i], trackIndex: before + lane[i] }));
}

module.exports = {
  BIN_NAME, HostWriteError, shotMarkers, matchcutMarkers, generatedSequences, lanes,
  putMarkers, placeSequences, moviolaBin, transact,
};
