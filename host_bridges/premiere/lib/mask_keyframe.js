"use strict";
// A matte file as the matte's keyframe: the user picks an existing roto or matte (UXP's file
// picker), and it becomes the keyframe on the clip's frame under the playhead. A PNG travels as
// bytes (`mask_png`, so a remote or sandboxed engine can read it); EXR and TIFF go as their
// native path (`mask`), which the engine reads (docs/mattes.md, "A keyframe given as a mask").

const MASK_TYPES = ["png", "exr", "tif", "tiff"];
const MAX_MASK_PNG_BYTES = 8 * 1024 * 1024;   // the engine's limit on mask_png
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** The picked file cannot be a keyframe (too large, not a matte format). */
class MaskFileError extends Error {}

/** Standard base64 with padding, without relying on btoa or Buffer (absent in some hosts). */
function base64(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    out += i + 1 < bytes.length ? B64[(n >> 6) & 63] : "=";
    out += i + 2 < bytes.length ? B64[n & 63] : "=";
  }
  return out;
}

const extensionOf = (name) => (/\.([^.\\/]+)$/.exec(String(name)) || ["", ""])[1].toLowerCase();

/**
 * Ask for a matte file with `localFileSystem.getFileForOpening`; resolves with the keyframe's
 * mask fields ({mask_png: {$bin}} or {mask: path}) and the file's name, or null when the
 * picker was cancelled. A PNG over 8 MiB is refused here, before anything is submitted.
 */
async function pickMaskFile(localFileSystem, formats) {
  const picked = await localFileSystem.getFileForOpening({ types: MASK_TYPES });
  const file = Array.isArray(picked) ? picked[0] : picked;
  if (!file) return null;
  const ext = extensionOf(file.name);
  if (!MASK_TYPES.includes(ext)) {
    throw new MaskFileError(`${file.name} is not a matte file Moviola reads here (${MASK_TYPES.join(", ")})`);
  }
  if (ext !== "png") return { name: file.name, fields: { mask: file.nativePath } };
  const bytes = new Uint8Array(await file.read({ format: formats.binary }));
  if (bytes.length > MAX_MASK_PNG_BYTES) {
    const mib = (bytes.length / (1024 * 1024)).toFixed(1);
    throw new MaskFileError(`${file.name} is ${mib} MiB; a PNG keyframe is at most 8 MiB. `
                            + "Save the matte as EXR or TIFF (sent by its path) or as a smaller PNG.");
  }
  return { name: file.name, fields: { mask_png: { $bin: base64(bytes) } } };
}

/**
 * The media frame of clip `c` shown at sequence frame `recordFrame` (the inverse of
 * sequence.js's recordFrameOf); an error when the playhead is not over the clip.
 */
function sourceFrameAt(c, recordFrame, rate) {
  if (recordFrame < c.recordStart || recordFrame >= c.recordEnd) {
    throw new MaskFileError(`move the playhead over "${c.name}" (sequence frames ${c.recordStart}`
                            + `-${c.recordEnd - 1}; it is at ${recordFrame}): the matte file is that frame's keyframe`);
  }
  if (c.reversed) {
    // Which media frame a reversed clip shows depends on how Premiere counts its in point there.
    throw new MaskFileError(`"${c.name}" plays reversed: a matte file keyframe needs a clip that plays forward`);
  }
  const offset = Math.round(((recordFrame - c.recordStart) * c.mediaRate * (c.speed || 1)) / rate);
  return c.firstFrame + offset;
}

module.exports = { MASK_TYPES, MAX_MASK_PNG_BYTES, MaskFileError, base64, pickMaskFile, sourceFrameAt };
