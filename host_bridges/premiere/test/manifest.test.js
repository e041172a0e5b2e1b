"use strict";
// The manifest against UXP's documented manifest v5 schema for Premiere
// (developer.adobe.com/premiere-pro/uxp/plugins/concepts/manifest): required fields and
// their types, the panel entry point, the permissions (network: the loopback gateway only),
// and the host's minimum version (UXP plugins are generally available from Premiere 25.6).

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "manifest.json"), "utf8"));

// Documented v5 fields: [type, required]. Unknown top-level fields are refused.
const SCHEMA = {
  manifestVersion: ["number", true], id: ["string", true], name: ["string", true],
  version: ["string", true], main: ["string", true], host: ["object", true],
  entrypoints: ["array", true], requiredPermissions: ["object", false], icons: ["array", false],
  strings: ["object", false], featureFlags: ["object", false], addon: ["object", false],
};
const PERMISSIONS = ["network", "localFileSystem", "clipboard", "launchProcess", "webview", "ipc",
                     "allowCodeGenerationFromStrings", "enableAddon", "enableUserInfo"];
const kind = (v) => (Array.isArray(v) ? "array" : typeof v);
const versionTuple = (v) => v.split(".").map(Number);
const atLeast = (a, b) => { for (let i = 0; i < 3; i++) { if ((a[i] || 0) !== (b[i] || 0)) return (a[i] || 0) > (b[i] || 0); } return true; };

test("every field is a documented v5 field of the documented type; required ones are there", () => {
  for (const [field, [type, required]] of Object.entries(SCHEMA)) {
    if (required) assert.ok(field in manifest, `missing ${field}`);
    if (field in manifest) assert.equal(kind(manifest[field]), type, `${field} must be a ${type}`);
  }
  for (const field of Object.keys(manifest)) assert.ok(field in SCHEMA, `undocumented field ${field}`);
  assert.equal(manifest.manifestVersion, 5);
  assert.match(manifest.version, /^\d+\.\d+\.\d+$/);
  assert.match(manifest.id, /^[A-Za-z0-9._-]+$/);
});

test("the host is Premiere Pro, 25.6 or later, as one object (host arrays are for development only)", () => {
  assert.equal(kind(manifest.host), "object");
  assert.equal(manifest.host.app, "premierepro");
  assert.match(manifest.host.minVersion, /^\d+\.\d+(\.\d+)?$/);
  assert.ok(atLeast(versionTuple(manifest.host.minVersion), [25, 6, 0]), "UXP in Premiere is GA from 25.6");
});

test("one panel entry point, with an id, a default label and sizes as {width, height}", () => {
  const panels = manifest.entrypoints.filter((e) => e.type === "panel");
  assert.equal(panels.length, 1);
  const [panel] = panels;
  assert.match(panel.id, /\S/);
  assert.equal(typeof panel.label.default, "string");
  for (const key of ["minimumSize", "maximumSize", "preferredDockedSize", "preferredFloatingSize"]) {
    if (panel[key]) assert.deepEqual(Object.keys(panel[key]).sort(), ["height", "width"]);
  }
  const main = fs.readFileSync(path.join(ROOT, manifest.main), "utf8");
  for (const src of main.matchAll(/(?:src|href)="([^"]+)"/g)) {
    assert.ok(fs.existsSync(path.join(ROOT, src[1])), `${manifest.main} names a missing file: ${src[1]}`);
  }
});

test("permissions are documented ones; the network reaches the loopback gateway only", () => {
  const perms = manifest.requiredPermissions;
  for (const key of Object.keys(perms)) assert.ok(PERMISSIONS.includes(key), `undocumented permission ${key}`);
  const { domains } = perms.network;
  assert.ok(Array.isArray(domains) && domains.length > 0, "network.domains must list the gateway, never \"all\"");
  for (const domain of domains) assert.match(domain, /^ws:\/\/127\.0\.0\.1(:\d+)?$/);
  assert.ok(["plugin", "request", "fullAccess"].includes(perms.localFileSystem));
  for (const ext of perms.launchProcess.extensions) assert.match(ext, /^\.(command|bat|sh)$/);
});
