"use strict";
// Where the engine is: its discovery file, <moviola home>/engine.json (docs/protocol.md), and
// the launcher `moviola install premiere` writes beside the panel's copy.

const DISCOVERY = "engine.json";

function join(...parts) {
  const sep = parts[0].includes("\\") && !parts[0].includes("/") ? "\\" : "/";
  return parts.map((p, i) => (i ? p.replace(/^[\\/]+/, "") : p.replace(/[\\/]+$/, ""))).join(sep);
}

/** The default Moviola home for a user whose home folder is `home`. */
function defaultHome(home) {
  return join(home, ".moviola");
}

/**
 * The discovery record, read with `readText(path) -> Promise<string>`; null when there is
 * none (no engine running), an Error for a file that is not JSON.
 */
async function readDiscovery(moviolaHome, readText) {
  let text;
  try {
    text = await readText(join(moviolaHome, DISCOVERY));
  } catch (_) {
    return null;
  }
  const info = JSON.parse(text);
  if (!info || typeof info !== "object") throw new Error(`${DISCOVERY} is not a JSON object`);
  return info;
}

/** The engine launcher for this system (`platform` as Node/UXP's os.platform() names it). */
function launcherPath(moviolaHome, platform) {
  const name = platform === "win32" ? "start-engine.bat" : platform === "darwin" ? "start-engine.command" : "start-engine.sh";
  return join(moviolaHome, "bridges", "premiere", name);
}

const UNREACHABLE = "The Moviola engine is not running (or its WebSocket gateway is off). " +
  "Start it with the button below, or run `moviola engine start` in a terminal, then try again.";

module.exports = { DISCOVERY, defaultHome, readDiscovery, launcherPath, join, UNREACHABLE };
