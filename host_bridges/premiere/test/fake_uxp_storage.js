"use strict";
/*
 * A stand-in for UXP's `require("uxp").storage` in Node tests, covering exactly the calls the
 * matte-file keyframe makes (documented names, Premiere UXP reference "Persistent File Storage"):
 *
 *   storage.localFileSystem.getFileForOpening({types}) -> Promise<File | undefined>
 *                               (the open picker; empty when the user cancels)
 *   File:                       name, nativePath, read({format}) (formats.binary -> ArrayBuffer)
 *   storage.formats:            utf8, binary (Symbols)
 *
 * The "picker" answers with the file the test queued (`_choose(path)`; null = cancel) and
 * records each call's options. Members starting with `_` are the test's, not UXP's.
 */

const fs = require("node:fs");
const path = require("node:path");

const formats = { utf8: Symbol("utf8"), binary: Symbol("binary") };

class File {
  constructor(nativePath) {
    this.nativePath = nativePath;
    this.name = path.basename(nativePath);
    this.isFile = true;
  }
  async read({ format = formats.utf8 } = {}) {
    const data = fs.readFileSync(this.nativePath);
    if (format === formats.binary) return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
    return data.toString("utf8");
  }
}

const localFileSystem = {
  _next: null,
  _calls: [],
  /** Test handle: the file the next picker returns (null: the user cancels). */
  _choose(nativePath) { this._next = nativePath; },
  async getFileForOpening(options = {}) {
    this._calls.push(options);
    const chosen = this._next;
    this._next = null;
    return chosen ? new File(chosen) : undefined;
  },
};

module.exports = { storage: { localFileSystem, formats }, File };
