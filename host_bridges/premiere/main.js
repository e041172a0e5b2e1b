"use strict";
// The panel: Premiere's side only (entry point, widgets, files, launching). The logic it
// drives lives in lib/ and is tested in Node against a stand-in `premierepro` module.

const { entrypoints, storage, shell } = require("uxp");
const ppro = require("premierepro");
const os = require("os");
const { GatewayClient, EngineUnreachable, EngineError } = require("./lib/gateway");
const { defaultHome, readDiscovery, launcherPath, join, UNREACHABLE } = require("./lib/engine_info");
const { runJob, runMatteFromFile, summary, safeName } = require("./lib/run");

const fs = storage.localFileSystem;
const $ = (id) => document.getElementById(id);
let client = null;
let running = null;   // {jobId, cancel} of the job in flight

function moviolaHome() {
  return $("moviola-home").value || defaultHome(os.homedir());
}

async function readText(nativePath) {
  const entry = await fs.getEntryWithUrl(`file:${nativePath}`);
  return entry.read({ format: storage.formats.utf8 });
}

/** The work timeline goes to the plugin's temporary folder; the engine reads it from there. */
async function writeText(name, text) {
  const folder = await fs.getTemporaryFolder();
  const file = await folder.createFile(name, { overwrite: true });
  await file.write(text, { format: storage.formats.utf8 });
  return file.nativePath;
}

function showUnreachable(why) {
  $("unreachable").hidden = false;
  $("unreachable-message").textContent = `${UNREACHABLE}\n(${why})`;
  $("engine-state").textContent = "engine: not reachable";
}

async function connect() {
  if (client && !client.closed) return client;
  const info = await readDiscovery(moviolaHome(), readText);
  client = await GatewayClient.open(info, { WebSocketImpl: WebSocket });
  const hello = await client.request("hello", { client: "premiere", client_version: "0.1.0" });
  $("unreachable").hidden = true;
  $("engine-state").textContent = `engine ${hello.engine_version}`;
  return client;
}

function showProgress(body) {
  $("progress").value = Math.round(100 * Number(body.fraction || 0));
  $("progress-message").textContent = body.message || "";
}

function box() {
  const values = ["box-x0", "box-y0", "box-x1", "box-y1"].map((id) => $(id).value);
  return values.every((v) => v !== "") ? values.map(Number) : null;
}

/** `job` from a button; "matte-file" is the matte with a picked matte file as its keyframe. */
async function run(job) {
  if (running) return;
  $("status").textContent = "";
  try {
    const engine = await connect();
    const project = await ppro.Project.getActiveProject();
    const sequence = project && (await project.getActiveSequence());
    const out = join(moviolaHome(), "premiere", safeName(project ? project.name : "project"),
                     safeName(sequence ? sequence.name : "sequence"));
    $("progress-area").hidden = false;
    const first = job === "matte-file" ? "matte: choose a matte file" : `${job}: reading the sequence`;
    showProgress({ fraction: 0, message: first });
    const options = {
      ppro, client: engine, writeText, job, out,
      extra: job.startsWith("matte") ? { box: box() } : {},
      onProgress: showProgress,
      onSubmitted: (handle) => { running = handle; },
    };
    const report = job === "matte-file"
      ? await runMatteFromFile({ ...options, localFileSystem: fs, formats: storage.formats })
      : await runJob(options);
    if (report) $("status").textContent = summary(report);
  } catch (err) {
    if (err instanceof EngineUnreachable) showUnreachable(err.message);
    else if (err instanceof EngineError && err.code === "cancelled") $("status").textContent = "Cancelled.";
    else $("status").textContent = `Moviola ${job === "matte-file" ? "matte" : job} failed: ${err.message}`;
  } finally {
    running = null;
    $("progress-area").hidden = true;
  }
}

async function startEngine() {
  const launcher = launcherPath(moviolaHome(), os.platform());
  const failed = await shell.openPath(launcher, "Moviola starts its engine (a local process) for this panel.");
  $("unreachable-message").textContent = failed
    ? `Could not run ${launcher}: ${failed}. Run \`moviola install premiere\`, or start the engine in a terminal.`
    : "Starting the engine… try again in a few seconds.";
}

function wire() {
  $("moviola-home").value = localStorage.getItem("moviola-home") || defaultHome(os.homedir());
  $("moviola-home").addEventListener("change", () => localStorage.setItem("moviola-home", $("moviola-home").value));
  for (const job of ["shots", "matchcuts", "depth", "matte", "matte-file"]) $(`run-${job}`).addEventListener("click", () => run(job));
  $("cancel").addEventListener("click", () => { if (running) running.cancel().catch(() => {}); });
  $("start-engine").addEventListener("click", startEngine);
}

entrypoints.setup({
  panels: {
    "moviola.panel": {
      // Premiere times these hooks out after 300 ms: wire the widgets, connect later.
      create() { wire(); },
      show() { connect().catch((err) => showUnreachable(err.message)); },
    },
  },
});
