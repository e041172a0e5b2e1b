"use strict";
// The engine's WebSocket gateway (docs/protocol.md, "The WebSocket gateway"): JSON text
// frames, one envelope each, the token from the discovery file on every request. Jobs stream
// `progress` then one `result` with `re` set to the submit's id.

const PROTOCOL = [1, 1];
const HEARTBEAT_MS = 3000;

/** The engine could not be reached (not running, or its gateway is off). */
class EngineUnreachable extends Error {}

/** The engine answered with an `error` (its code is one of docs/protocol.md's error codes). */
class EngineError extends Error {
  constructor(code, message, detail) {
    super(`${code}: ${message}`);
    this.code = code;
    this.detail = detail || {};
  }
}

let counter = 0;
const nextId = () => `premiere-${Date.now().toString(36)}-${++counter}`;

class GatewayClient {
  /** Use `GatewayClient.open`. */
  constructor(socket, token, session) {
    this.socket = socket;
    this.token = token;
    this.session = session;
    this.pending = new Map();   // request id -> {resolve, reject}
    this.jobs = new Map();      // submit id -> {onProgress, resolve, reject}
    this.closed = false;
    socket.onmessage = (event) => this._receive(event.data);
    socket.onclose = () => this._lost("the engine closed the connection");
    socket.onerror = () => this._lost("the connection to the engine failed");
    this.beat = setInterval(() => {
      if (this.jobs.size) this.request("heartbeat", {}).catch(() => {});
    }, HEARTBEAT_MS);
  }

  /**
   * Connect to `info.gateway` (the discovery file's record) with `WebSocketImpl` (UXP's and
   * Node's global `WebSocket`). Rejects with EngineUnreachable when nothing answers.
   */
  static open(info, { WebSocketImpl = globalThis.WebSocket, session = nextId(), timeoutMs = 5000 } = {}) {
    if (!info || !info.gateway) {
      return Promise.reject(new EngineUnreachable(
        "the engine's WebSocket gateway is off or the engine is not running (no gateway in engine.json)"));
    }
    return new Promise((resolve, reject) => {
      let socket;
      try {
        socket = new WebSocketImpl(info.gateway);
      } catch (err) {
        reject(new EngineUnreachable(`cannot open ${info.gateway}: ${err.message}`));
        return;
      }
      const timer = setTimeout(() => {
        socket.onopen = socket.onerror = null;
        try { socket.close(); } catch (_) { /* already closed */ }
        reject(new EngineUnreachable(`no answer from the engine at ${info.gateway}`));
      }, timeoutMs);
      socket.onopen = () => {
        clearTimeout(timer);
        resolve(new GatewayClient(socket, info.token, session));
      };
      socket.onerror = () => {
        clearTimeout(timer);
        reject(new EngineUnreachable(`the engine at ${info.gateway} does not answer (is it running?)`));
      };
    });
  }

  _send(type, body) {
    if (this.closed) throw new EngineUnreachable("the connection to the engine is closed");
    const id = nextId();
    this.socket.send(JSON.stringify({ protocol: PROTOCOL, id, type, token: this.token,
                                      session: this.session, body }));
    return id;
  }

  /** One request; resolves with its reply's body, rejects with EngineError. */
  request(type, body = {}) {
    return new Promise((resolve, reject) => {
      const id = this._send(type, body);
      this.pending.set(id, { resolve, reject });
    });
  }

  /**
   * Submit a job: `{jobId, done, cancel()}`; `done` resolves with the job's result map, rejects
   * with EngineError (`cancelled` when cancelled). `onProgress(body)` hears every progress.
   */
  async submit(kind, params, { onProgress = () => {} } = {}) {
    let jobEntry;
    const done = new Promise((resolve, reject) => { jobEntry = { onProgress, resolve, reject }; });
    done.catch(() => {});   // a submit refused outright rejects below, never through `done`
    const id = this._send("submit", { kind, params });
    this.jobs.set(id, jobEntry);
    const reply = await new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }))
      .catch((err) => { this.jobs.delete(id); throw err; });
    const jobId = reply.job_id;
    return { jobId, done, cancel: () => this.request("cancel", { job_id: jobId }) };
  }

  _receive(data) {
    let message;
    try {
      message = JSON.parse(typeof data === "string" ? data : new TextDecoder().decode(data));
    } catch (_) {
      return;   // not ours to read; the engine sends JSON to JSON requests
    }
    const { type, re, body = {} } = message;
    const job = this.jobs.get(re);
    if (type === "progress" && job) {
      job.onProgress(body);
      return;
    }
    if (type === "result" && job) {
      this.jobs.delete(re);
      if (body.state === "succeeded") job.resolve(body.result || {});
      else {
        const error = body.error || { code: body.state, message: `the job ${body.state}` };
        job.reject(new EngineError(error.code || body.state, error.message || "", error.detail));
      }
      return;
    }
    const waiting = this.pending.get(re);
    if (!waiting) {
      if (type === "error" && re == null) this._lost(`the engine refused the connection: ${body.message}`);
      return;
    }
    this.pending.delete(re);
    if (type === "error") {
      const err = new EngineError(body.code, body.message, body.detail);
      waiting.reject(err);
    } else {
      waiting.resolve(body);
    }
  }

  _lost(why) {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.beat);
    const err = new EngineUnreachable(why);
    for (const { reject } of this.pending.values()) reject(err);
    for (const { reject } of this.jobs.values()) reject(err);
    this.pending.clear();
    this.jobs.clear();
  }

  close() {
    this._lost("closed by the panel");
    try { this.socket.close(); } catch (_) { /* already closed */ }
  }
}

module.exports = { GatewayClient, EngineError, EngineUnreachable, PROTOCOL };
