"use strict";
// The active sequence, read through the `premierepro` API, as the engine's input: an OTIO
// timeline (JSON text) holding the sequence's video clips at their record positions, each clip
// named by a key unique in the sequence so that results (which name clips) map back to track
// items. The engine reads it like any .otio: the same work units as its OTIO reader yields.

const { rateFromTimebase, ticksOf } = require("./time");

/** Thrown for a sequence the panel cannot send (nothing active, no clip with media). */
class SequenceError extends Error {}

async function maybe(fn, fallback) {
  try {
    const value = await fn();
    return value === undefined ? fallback : value;
  } catch (_) {
    return fallback;
  }
}

/** The media's frame rate as Premiere interprets it; the sequence's where it says none. */
async function mediaRateOf(clipItem, fallback) {
  const interpretation = await maybe(() => clipItem.getFootageInterpretation(), null);
  const value = interpretation ? Number(await maybe(() => interpretation.getFrameRate(), 0)) : 0;
  return value > 0 ? value : fallback;
}

/** The sequence frame where media frame `frame` of clip `c` plays (a retime divides). */
function recordFrameOf(c, frame, rate) {
  return c.recordStart + Math.round(((frame - c.firstFrame) * rate) / c.mediaRate / (c.speed || 1));
}

/**
 * Every video clip of `sequence` with media on disk:
 * `{name, timebase, rate, clips: [{key, name, trackIndex, mediaPath, recordStart, recordEnd,
 * inPoint, speed, reversed, trackItem, projectItem}], notes}`. Times are in sequence frames
 * (`inPoint` may be fractional where the media's rate differs). With `selectedOnly`, only
 * the selected clips (all of them when none is selected).
 */
async function readSequence(ppro, sequence, { selectedOnly = false } = {}) {
  if (!sequence) throw new SequenceError("no active sequence: open a sequence in the Timeline first");
  const timebase = Number(await sequence.getTimebase());
  const rate = rateFromTimebase(timebase);
  const trackCount = await sequence.getVideoTrackCount();
  const clips = [];
  const notes = [];
  for (let t = 0; t < trackCount; t++) {
    const track = await sequence.getVideoTrack(t);
    const items = (await track.getTrackItems(ppro.Constants.TrackItemType.CLIP, false)) || [];
    let index = 0;
    for (const item of items) {
      index += 1;
      const name = String(await maybe(() => item.getName(), "") || `clip ${index}`);
      const where = `V${t + 1} clip ${index} (${name})`;
      const projectItem = await item.getProjectItem();
      const clipItem = projectItem ? ppro.ClipProjectItem.cast(projectItem) : null;
      const mediaPath = clipItem ? await maybe(() => clipItem.getMediaFilePath(), "") : "";
      if (!mediaPath) {
        notes.push(`${where}: no media file (a nested sequence, title or generator): left out`);
        continue;
      }
      if (await maybe(() => item.isAdjustmentLayer(), false)) continue;
      const recordStart = Math.round(ticksOf(await item.getStartTime()) / timebase);
      const recordEnd = Math.round(ticksOf(await item.getEndTime()) / timebase);
      const inPoint = ticksOf(await item.getInPoint()) / timebase;
      const speed = Number(await maybe(() => item.getSpeed(), 1)) || 1;
      const reversed = Boolean(await maybe(() => item.isSpeedReversed(), false));
      const selected = Boolean(await maybe(() => item.getIsSelected(), false));
      const mediaRate = await mediaRateOf(clipItem, rate);
      clips.push({ key: `${name} [V${t + 1}.${index}]`, name, trackIndex: t, mediaPath,
                   recordStart, recordEnd, inPoint, speed, reversed, selected, mediaRate,
                   firstFrame: Math.round(inPoint * mediaRate / rate),
                   trackItem: item, projectItem: clipItem });
    }
  }
  let chosen = clips;
  if (selectedOnly && clips.some((c) => c.selected)) chosen = clips.filter((c) => c.selected);
  if (chosen.length === 0) {
    throw new SequenceError(`sequence "${sequence.name}" has no video clip with a media file`);
  }
  return { name: String(sequence.name || "sequence"), timebase, rate, clips: chosen, notes };
}

const rational = (value, rate) => ({ OTIO_SCHEMA: "RationalTime.1", rate, value });
const range = (start, duration, rate) => ({
  OTIO_SCHEMA: "TimeRange.1", start_time: rational(start, rate), duration: rational(duration, rate),
});

function gap(frames, rate) {
  return { OTIO_SCHEMA: "Gap.1", metadata: {}, name: "", source_range: range(0, frames, rate),
           effects: [], markers: [], enabled: true };
}

function clip(c, rate) {
  const effects = [];
  if (c.speed !== 1 || c.reversed) {
    effects.push({ OTIO_SCHEMA: "LinearTimeWarp.1", metadata: {}, name: "",
                   effect_name: "LinearTimeWarp", time_scalar: c.reversed ? -c.speed : c.speed });
  }
  return {
    OTIO_SCHEMA: "Clip.2", metadata: { premiere: { track: c.trackIndex + 1, name: c.name } },
    name: c.key, source_range: range(c.inPoint, c.recordEnd - c.recordStart, rate),
    effects, markers: [], enabled: true,
    media_references: { DEFAULT_MEDIA: { OTIO_SCHEMA: "ExternalReference.1", metadata: {}, name: "",
                                         available_range: null, target_url: c.mediaPath } },
    active_media_reference_key: "DEFAULT_MEDIA",
  };
}

/**
 * The OTIO timeline (a plain object; JSON.stringify it) of `read`: one video track per
 * sequence track up to the highest one holding a chosen clip, gaps where nothing is chosen.
 * Times are at the sequence rate, so record frames come back as sequence frames.
 */
function toOtio(read) {
  const top = Math.max(...read.clips.map((c) => c.trackIndex));
  const tracks = [];
  for (let t = 0; t <= top; t++) {
    const children = [];
    let cursor = 0;
    for (const c of read.clips.filter((x) => x.trackIndex === t).sort((a, b) => a.recordStart - b.recordStart)) {
      if (c.recordStart > cursor) children.push(gap(c.recordStart - cursor, read.rate));
      children.push(clip(c, read.rate));
      cursor = c.recordEnd;
    }
    tracks.push({ OTIO_SCHEMA: "Track.1", metadata: {}, name: `V${t + 1}`, source_range: null,
                  effects: [], markers: [], enabled: true, children, kind: "Video" });
  }
  return {
    OTIO_SCHEMA: "Timeline.1", metadata: { moviola: { from: "premiere" } }, name: read.name,
    global_start_time: null,
    tracks: { OTIO_SCHEMA: "Stack.1", metadata: {}, name: "tracks", source_range: null, effects: [],
              markers: [], enabled: true, children: tracks },
  };
}

/** Clips by key, for mapping results back. */
function clipsByKey(read) {
  return new Map(read.clips.map((c) => [c.key, c]));
}

module.exports = { SequenceError, readSequence, toOtio, clipsByKey, recordFrameOf };
