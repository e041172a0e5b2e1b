"use strict";
/*
 * A stand-in for Premiere Pro's `premierepro` UXP module, for tests in Node. It follows the
 * documented API (developer.adobe.com/premiere-pro/uxp/ppro_reference, 25.6+) name for name,
 * and covers exactly these documented calls:
 *
 *   Project:            static getActiveProject(); name, path; getActiveSequence(), getRootItem(),
 *                       importFiles(filePaths, suppressUI, targetBin, asNumberedStills),
 *                       executeTransaction(callback(compoundAction), undoString) -> boolean,
 *                       lockedAccess(callback)
 *   CompoundAction:     addAction(action)
 *   Sequence:           name; getTimebase() (ticks a frame, string), getVideoTrackCount(),
 *                       getVideoTrack(index), getZeroPoint(), getEndTime(), getPlayerPosition()
 *   VideoTrack:         getTrackItems(Constants.TrackItemType, includeEmptyTrackItems) (sync)
 *   VideoClipTrackItem: getName(), getStartTime(), getEndTime(), getDuration(), getInPoint(),
 *                       getOutPoint(), getProjectItem(), getSpeed(), isSpeedReversed(),
 *                       getIsSelected(), isAdjustmentLayer(), getTrackIndex()
 *   ClipProjectItem:    static cast(projectItem); name; getMediaFilePath(),
 *                       getFootageInterpretation() -> FootageInterpretation.getFrameRate()
 *   FolderItem:         static cast(projectItem); name; getItems(), createBinAction(name, makeUnique)
 *   Markers:            static getMarkers(sequence); getMarkers(filters) (sync),
 *                       createAddMarkerAction(name, markerType, startTime, duration, comments),
 *                       createRemoveMarkerAction(marker)
 *   Marker:             MARKER_TYPE_COMMENT...; getName(), getComments(), getStart(), getDuration(),
 *                       getType(), getColorIndex(), createSetColorByIndexAction(colorIndex)
 *   SequenceEditor:     static getEditor(sequence); createInsertProjectItemAction(projectItem, time,
 *                       videoTrackIndex, audioTrackIndex, limitShift) (a video track index past
 *                       the last track makes a new track, as documented)
 *   TickTime:           ticks, ticksNumber, seconds; createWithTicks(), createWithSeconds(), TIME_ZERO
 *   Constants:          TrackItemType, MarkerColor
 *
 * Where the docs are silent the fake is strict: an Action made outside lockedAccess throws
 * (Premiere enforces this from 26.3), an Action applies only through executeTransaction, and
 * importFiles of numbered stills reads the real files on disk. Members starting with `_` are
 * the test's own handles (build a project, undo a step), not Premiere API.
 */

const fs = require("node:fs");
const path = require("node:path");

const TICKS_PER_SECOND = 254016000000;
let activeProject = null;

class TickTime {
  constructor(ticks) {
    this.ticksNumber = Number(ticks);
    this.ticks = String(Math.round(this.ticksNumber));
    this.seconds = this.ticksNumber / TICKS_PER_SECOND;
  }
  static createWithTicks(ticks) { return new TickTime(ticks); }
  static createWithSeconds(seconds) { return new TickTime(Math.round(seconds * TICKS_PER_SECOND)); }
}
TickTime.TIME_ZERO = new TickTime(0);

const Constants = {
  TrackItemType: { EMPTY: 0, CLIP: 1, TRANSITION: 2, PREVIEW: 3, FEEDBACK: 4 },
  MarkerColor: { GREEN: 0, RED: 1, MAGNETA: 2, ORANGE: 3, YELLOW: 4, BLUE: 6, CYAN: 7 },
};

function requireLock(project, what) {
  if (!project._locked) throw new Error(`${what}: Actions must be created inside project.lockedAccess()`);
}

function action(project, what, apply, revert) {
  requireLock(project, what);
  return { _what: what, _apply: apply, _revert: revert };
}

class ProjectItem {
  constructor(name) { this.name = name; this.type = 1; }
}

class FootageInterpretation {
  constructor(rate) { this._rate = rate; }
  getFrameRate() { return this._rate; }
}

class ClipProjectItem extends ProjectItem {
  constructor(name, mediaPath, { rate = 0, frames = 0 } = {}) {
    super(name);
    this._mediaPath = mediaPath;
    this._rate = rate;
    this._frames = frames;
  }
  static cast(item) { return item instanceof ClipProjectItem ? item : null; }
  async getMediaFilePath() { return this._mediaPath; }
  async getFootageInterpretation() { return new FootageInterpretation(this._rate); }
}

class FolderItem extends ProjectItem {
  constructor(name, project) { super(name); this.type = 2; this._items = []; this._project = project; }
  static cast(item) { return item instanceof FolderItem ? item : null; }
  async getItems() { return [...this._items]; }
  createBinAction(name, makeUnique) {
    let bin;
    return action(this._project, "createBinAction", () => {
      let unique = name;
      for (let n = 2; makeUnique && this._items.some((i) => i.name === unique); n++) unique = `${name} ${n}`;
      bin = new FolderItem(unique, this._project);
      this._items.push(bin);
    }, () => { this._items = this._items.filter((i) => i !== bin); });
  }
}

class VideoClipTrackItem {
  constructor({ name, projectItem, start, end, inPoint, speed = 1, reversed = false, selected = false, track }) {
    Object.assign(this, { _name: name, _projectItem: projectItem, _start: start, _end: end,
                          _in: inPoint, _speed: speed, _reversed: reversed, _selected: selected, _track: track });
  }
  async getName() { return this._name; }
  async getStartTime() { return new TickTime(this._start); }
  async getEndTime() { return new TickTime(this._end); }
  async getDuration() { return new TickTime(this._end - this._start); }
  async getInPoint() { return new TickTime(this._in); }
  async getOutPoint() { return new TickTime(this._in + (this._end - this._start) * this._speed); }
  async getProjectItem() { return this._projectItem; }
  async getSpeed() { return this._speed; }
  async isSpeedReversed() { return this._reversed; }
  async getIsSelected() { return this._selected; }
  async isAdjustmentLayer() { return false; }
  async getTrackIndex() { return this._track._index; }
}

class VideoTrack {
  constructor(index) { this._index = index; this._items = []; }
  getTrackItems(type, includeEmpty) {
    if (type !== Constants.TrackItemType.CLIP) throw new Error("the fake lists CLIP items only");
    return [...this._items].sort((a, b) => a._start - b._start);
  }
}

class Marker {
  constructor(name, type, start, duration, comments) {
    Object.assign(this, { _name: name, _type: type, _start: start, _duration: duration, _comments: comments, _colour: 0 });
  }
  getName() { return this._name; }
  getComments() { return this._comments; }
  getStart() { return this._start; }
  getDuration() { return this._duration; }
  getType() { return this._type; }
  getColorIndex() { return this._colour; }
  createSetColorByIndexAction(index) {
    const before = this._colour;
    return action(activeProject, "createSetColorByIndexAction",
                  () => { this._colour = index; }, () => { this._colour = before; });
  }
}
Marker.MARKER_TYPE_COMMENT = "Comment";
Marker.MARKER_TYPE_CHAPTER = "Chapter";
Marker.MARKER_TYPE_FLVCUEPOINT = "FLVCuePoint";
Marker.MARKER_TYPE_WEBLINK = "WebLink";

class Markers {
  constructor(owner) { this._owner = owner; }
  static async getMarkers(owner) { return new Markers(owner); }
  getMarkers(filters) {
    const all = [...this._owner._markers].sort((a, b) => a._start.ticksNumber - b._start.ticksNumber);
    return filters && filters.length ? all.filter((m) => filters.includes(m._type)) : all;
  }
  createAddMarkerAction(name, markerType, startTime, duration, comments) {
    if (!(startTime instanceof TickTime) || !(duration instanceof TickTime)) throw new TypeError("times must be TickTime");
    const marker = new Marker(name, markerType, startTime, duration, comments);
    return action(activeProject, "createAddMarkerAction", () => this._owner._markers.push(marker),
                  () => { this._owner._markers = this._owner._markers.filter((m) => m !== marker); });
  }
  createRemoveMarkerAction(marker) {
    return action(activeProject, "createRemoveMarkerAction",
                  () => { this._owner._markers = this._owner._markers.filter((m) => m !== marker); },
                  () => this._owner._markers.push(marker));
  }
}

class Sequence {
  constructor(name, timebase, trackCount) {
    this.name = name;
    this._timebase = String(timebase);
    this._tracks = Array.from({ length: trackCount }, (_, i) => new VideoTrack(i));
    this._markers = [];
    this._playhead = 0;   // ticks
  }
  async getTimebase() { return this._timebase; }
  async getVideoTrackCount() { return this._tracks.length; }
  async getVideoTrack(index) {
    if (index < 0 || index >= this._tracks.length) throw new RangeError(`no video track ${index}`);
    return this._tracks[index];
  }
  async getZeroPoint() { return TickTime.TIME_ZERO; }
  async getEndTime() { return new TickTime(Math.max(0, ...this._tracks.flatMap((t) => t._items.map((i) => i._end)))); }
  async getPlayerPosition() { return new TickTime(this._playhead); }
  /** Test handle: move the playhead to sequence frame `frame`. */
  _setPlayhead(frame) { this._playhead = frame * Number(this._timebase); }
  /** Test handle: put a clip of `projectItem` on track `track` (times in frames of this sequence). */
  _addClip(track, projectItem, { start, frames, inFrame = 0, speed = 1, selected = false, name }) {
    const tb = Number(this._timebase);
    const item = new VideoClipTrackItem({ name: name || projectItem.name, projectItem, start: start * tb,
                                          end: (start + frames) * tb, inPoint: inFrame * tb, speed, selected,
                                          track: this._tracks[track] });
    this._tracks[track]._items.push(item);
    return item;
  }
}

class SequenceEditor {
  constructor(sequence) { this._sequence = sequence; }
  static getEditor(sequence) { return new SequenceEditor(sequence); }
  createInsertProjectItemAction(projectItem, time, videoTrackIndex, audioTrackIndex, limitShift) {
    const seq = this._sequence;
    const project = activeProject;
    let item;
    let made = 0;
    return action(project, "createInsertProjectItemAction", () => {
      while (seq._tracks.length <= videoTrackIndex) { seq._tracks.push(new VideoTrack(seq._tracks.length)); made++; }
      const track = seq._tracks[videoTrackIndex];
      const length = (projectItem._frames || 1) * Number(seq._timebase);
      const shifted = limitShift ? [track] : seq._tracks;
      for (const t of shifted) for (const other of t._items) {
        if (other._start >= time.ticksNumber) { other._start += length; other._end += length; }
      }
      item = new VideoClipTrackItem({ name: projectItem.name, projectItem, start: time.ticksNumber,
                                      end: time.ticksNumber + length, inPoint: 0, track });
      track._items.push(item);
    }, () => {
      item._track._items = item._track._items.filter((i) => i !== item);
      seq._tracks.splice(seq._tracks.length - made, made);
    });
  }
}

/** The numbered files from `first` on (name.0101.exr, name.0102.exr, ...). */
function numberedRun(first) {
  const m = /^(.*?)(\d+)(\.[^.]+)$/.exec(path.basename(first));
  if (!m) return 1;
  let n = 0;
  while (fs.existsSync(path.join(path.dirname(first), `${m[1]}${String(Number(m[2]) + n).padStart(m[2].length, "0")}${m[3]}`))) n++;
  return n;
}

class Project {
  constructor(name, projectPath) {
    this.name = name;
    this.path = projectPath;
    this._root = new FolderItem("root", this);
    this._sequences = [];
    this._active = null;
    this._locked = false;
    this._undo = [];        // [{label, actions}]
    this._imports = [];     // importFiles calls, for tests
  }
  static async getActiveProject() { return activeProject; }
  async getActiveSequence() { return this._active; }
  async getRootItem() { return this._root; }
  async importFiles(filePaths, suppressUI, targetBin, asNumberedStills) {
    const bin = targetBin || this._root;
    for (const file of filePaths) {
      if (!fs.existsSync(file)) return false;
      const frames = asNumberedStills ? numberedRun(file) : 1;
      bin._items.push(new ClipProjectItem(path.basename(file), file, { frames }));
      this._imports.push({ file, frames, bin: bin.name, asNumberedStills });
    }
    return true;
  }
  lockedAccess(callback) {
    const was = this._locked;
    this._locked = true;
    try { callback(); } finally { this._locked = was; }
  }
  executeTransaction(callback, undoString) {
    const actions = [];
    callback({ addAction: (a) => { if (!a || !a._apply) throw new TypeError("not an Action"); actions.push(a); } });
    for (const a of actions) a._apply();
    this._undo.push({ label: undoString, actions });
    return true;
  }
  // --- test handles ---
  static _open(name = "Test project") {
    activeProject = new Project(name, `/projects/${name}.prproj`);
    return activeProject;
  }
  _newSequence(name, timebase, trackCount = 1) {
    const seq = new Sequence(name, timebase, trackCount);
    this._sequences.push(seq);
    this._active = seq;
    return seq;
  }
  _clip(name, mediaPath, rate = 0) { const item = new ClipProjectItem(name, mediaPath, { rate }); this._root._items.push(item); return item; }
  /** Edit > Undo: the last transaction, reverted. */
  _undoLast() {
    const step = this._undo.pop();
    for (const a of [...step.actions].reverse()) a._revert();
    return step.label;
  }
}

class FrameRate {
  constructor(value) { this.value = value; }
  static createWithValue(value) { return new FrameRate(value); }
}

module.exports = { Project, Sequence, VideoTrack, VideoClipTrackItem, ProjectItem, ClipProjectItem, FolderItem,
                   Markers, Marker, SequenceEditor, TickTime, FrameRate, Constants, TICKS_PER_SECOND };
