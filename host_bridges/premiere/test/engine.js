"use strict";
// A real Moviola engine for the panel's tests: started from the project's Python with a
// temporary MOVIOLA_HOME, found through its discovery file, stopped at the end.

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const REPO = path.resolve(__dirname, "..", "..", "..");

function python() {
  if (process.env.MOVIOLA_TEST_PYTHON) return process.env.MOVIOLA_TEST_PYTHON;
  const venv = path.join(REPO, ".venv", process.platform === "win32" ? "Scripts/python.exe" : "bin/python");
  return fs.existsSync(venv) ? venv : "python3";
}

/** Start an engine; resolves with {home, info, stop()} once engine.json names a gateway. */
async function startEngine({ timeoutMs = 60000, settings = {} } = {}) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "moviola-premiere-"));
  const env = { ...process.env, MOVIOLA_HOME: home };
  // The project's test jobs (tests/testjobs.py): a job that sleeps in steps, to cancel.
  env.MOVIOLA_JOB_PLUGINS = "testjobs:SleepJob";
  env.PYTHONPATH = [path.join(REPO, "tests"), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter);
  for (const [k, v] of Object.entries(settings)) env[`MOVIOLA_${k.toUpperCase()}`] = String(v);
  const child = spawn(python(), ["-m", "moviola.engine", "--quiet"], { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => { stderr += d; });
  const discovery = path.join(home, "engine.json");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the engine exited (${child.exitCode}): ${stderr}`);
    try {
      const info = JSON.parse(fs.readFileSync(discovery, "utf8"));
      if (info.gateway) {
        const stop = () => new Promise((resolve) => {
          if (child.exitCode !== null) { resolve(); return; }
          child.once("exit", () => resolve());
          child.kill("SIGTERM");
          setTimeout(() => child.exitCode === null && child.kill("SIGKILL"), 10000).unref();
        }).then(() => fs.rmSync(home, { recursive: true, force: true }));
        return { home, info, child, stop };
      }
    } catch (_) { /* not written yet */ }
    if (Date.now() > deadline) { child.kill("SIGKILL"); throw new Error(`no engine.json with a gateway after ${timeoutMs} ms: ${stderr}`); }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The engine's built-in sample edit, small for speed (320x180, a second a shot), written under
 * the engine's home through ``client``; resolves with the job's result. */
async function makeSample(engine, client) {
  const job = await client.submit("sample", { out: path.join(engine.home, "sample"), width: 320, height: 180,
                                              seconds_per_shot: 1.0 });
  return job.done;
}

module.exports = { startEngine, makeSample, REPO, python };
