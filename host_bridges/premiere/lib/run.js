"use strict";
// One job from Premiere to Premiere: read the active sequence, write it as an OTIO file, run
// the job through the engine's gateway, and put the result back as Premiere edits.

const { readSequence, toOtio } = require("./sequence");
const { shotMarkers, matchcutMarkers, generatedSequences, putMarkers, placeSequences } = require("./actions");
const { pickMaskFile, sourceFrameAt } = require("./mask_keyframe");
const { framesOf } = require("./time");

const JOBS = ["shots", "matchcuts", "matte", "depth"];
const LABELS = { shots: "Moviola: shots", matchcuts: "Moviola: match cuts",
                 matte: "Moviola: matte", depth: "Moviola: depth" };

const safeName = (text) => String(text).replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+|[._]+$/g, "") || "sequence";

/** The job's params for the work timeline at `otioPath`; `extra` holds the panel's choices. */
function jobParams(job, otioPath, out, read, extra = {}) {
  const params = job === "matchcuts" ? { inputs: [otioPath] } : { input: otioPath };
  params.out = out;
  if (job === "matchcuts") params.name = safeName(read.name);
  if (job === "matte") {
    const box = Array.isArray(extra.box) && extra.box.length === 4 ? extra.box.map(Number) : null;
    const mask = extra.maskKeyframe;
    if (!box && !mask) {
      throw new Error("matte: draw a box (x0, y0, x1, y1 in pixels of the clip's first frame) first");
    }
    // A matte file is the keyframe on the frame under the playhead; a box there clears it outside.
    const keyframe = mask ? { frame: extra.maskFrame, object: 1, ...mask }
                          : { frame: read.clips[0].firstFrame, object: 1 };
    if (box) keyframe.box = box;
    params.keyframes = [keyframe];
  }
  const panelOnly = ["box", "maskKeyframe", "maskFrame"];
  for (const [k, v] of Object.entries(extra)) if (!panelOnly.includes(k)) params[k] = v;
  return params;
}

/**
 * Run `job` on the active sequence.
 *   ppro: the `premierepro` module; client: a connected GatewayClient;
 *   writeText(name, text) -> Promise<native path>: where the work timeline goes (UXP's
 *   temporary folder in the panel); out: the engine's output folder;
 *   onProgress(body), onSubmitted({jobId, cancel}): progress and the handle to cancel;
 *   extra: the panel's choices (a matte's `box`, or `maskKeyframe`: pickMaskFile's fields, the
 *   keyframe on the clip's frame under the playhead).
 * Resolves with a report: {job, clips, markers, placed, review, otio, notes}.
 */
async function runJob({ ppro, client, writeText, job, out, extra = {}, onProgress, onSubmitted }) {
  if (!JOBS.includes(job)) throw new Error(`${job} does not run from Premiere: use one of ${JOBS.join(", ")}`);
  const project = await ppro.Project.getActiveProject();
  if (!project) throw new Error("no open project");
  const sequence = await project.getActiveSequence();
  const read = await readSequence(ppro, sequence, { selectedOnly: job === "matte" });
  if (job === "matte") read.clips = read.clips.slice(0, 1);   // the selected (or first) clip
  if (job === "matte" && extra.maskKeyframe) {
    const playhead = framesOf(await sequence.getPlayerPosition(), read.timebase);
    extra = { ...extra, maskFrame: sourceFrameAt(read.clips[0], playhead, read.rate) };
  }
  const otioPath = await writeText(`${safeName(read.name)}.otio`, JSON.stringify(toOtio(read), null, 1));
  const handle = await client.submit(job, jobParams(job, otioPath, out, read, extra), { onProgress });
  if (onSubmitted) onSubmitted(handle);
  const result = await handle.done;
  const report = { job, clips: read.clips.length, markers: 0, placed: [], review: null,
                   otio: result.otio || null, input: otioPath, keyframeFrame: extra.maskFrame,
                   notes: [...read.notes, ...(result.problems || []).map(String)] };
  if (job === "shots") {
    report.markers = (await putMarkers(ppro, project, sequence, read.timebase, shotMarkers(result), "shot", LABELS.shots)).length;
  } else if (job === "matchcuts") {
    report.markers = (await putMarkers(ppro, project, sequence, read.timebase, matchcutMarkers(result, read), "matchcut", LABELS.matchcuts)).length;
    report.review = result.review_otio || null;
  } else {
    report.placed = await placeSequences(ppro, project, sequence, read.timebase, generatedSequences(result, read), LABELS[job]);
  }
  return report;
}

/**
 * "Use a matte file as keyframe…": pick the file (`localFileSystem`, `formats`: UXP's storage),
 * then run the matte with it as the keyframe on the frame under the playhead, refined by the box
 * when `extra.box` holds one. Resolves with runJob's report, or null when the picker was
 * cancelled (nothing is read or submitted). A too-large PNG rejects before any submit.
 */
async function runMatteFromFile({ localFileSystem, formats, extra = {}, ...options }) {
  const picked = await pickMaskFile(localFileSystem, formats);
  if (!picked) return null;
  const report = await runJob({ ...options, job: "matte", extra: { ...extra, maskKeyframe: picked.fields } });
  report.notes.unshift(`keyframe: ${picked.name} on source frame ${report.keyframeFrame}`);
  return report;
}

/** A few lines saying what happened, for the panel's status area. */
function summary(report) {
  const lines = [`Moviola ${report.job}: ${report.clips} clip(s) read`];
  if (report.job === "shots" || report.job === "matchcuts") lines.push(`${report.markers} marker(s) on the sequence`);
  if (report.placed.length) {
    const tracks = [...new Set(report.placed.map((p) => `V${p.trackIndex + 1}`))].join(", ");
    lines.push(`${report.placed.length} sequence(s) in the Moviola bin, on ${tracks}`);
  }
  if (report.review) lines.push(`Review timeline (File > Import): ${report.review}`);
  return lines.concat(report.notes).join("\n");
}

module.exports = { JOBS, runJob, runMatteFromFile, jobParams, summary, safeName };
