#!/usr/bin/env node
// The measuring loop of bench/first-metric.sh: starts a new Node fixture server per
// iteration, sends it one request on a new connection, and polls the agent's /metrics every
// POLL ms until the server's series (http_server_request_duration_seconds_count with its
// server_port) appears. Time is from just before the request is sent to the end of the
// scrape that first shows the series.
//
//   node first-metric.mjs --metrics URL --agent-log FILE --server FILE --cpu LIST
//        --first-port N --count N --mode immediate|selected|repeat [--poll-ms 10] [--timeout-ms 5000]
//
// mode "immediate": the request goes out as soon as the server listens (the agent may not
//   have discovered the process yet: a request it never sees counts as "missed").
// mode "selected": the request goes out once the agent logged that it instruments the pid.
// mode "repeat": as "immediate", then one more request on a new connection every 20 ms until
//   the series appears: the time from a new process's first request to its first metric,
//   process discovery included.
//
// Prints one line per iteration and a summary line:
//   FIRSTMETRIC mode=selected n=5 captured=5 missed=0 median_ms=... max_ms=... min_ms=...
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import { performance } from "node:perf_hooks";
import { clearInterval, setInterval } from "node:timers";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";

const { values: opts } = parseArgs({
  options: {
    metrics: { type: "string" },
    "agent-log": { type: "string" },
    server: { type: "string" },
    cpu: { type: "string", default: "0" },
    "first-port": { type: "string" },
    count: { type: "string", default: "5" },
    mode: { type: "string", default: "selected" },
    "poll-ms": { type: "string", default: "10" },
    "timeout-ms": { type: "string", default: "5000" },
  },
});
for (const required of ["metrics", "agent-log", "server", "first-port"]) {
  if (opts[required] === undefined) fail(`--${required} is required`);
}
const metricsUrl = new URL(opts.metrics);
if (metricsUrl.hostname !== "127.0.0.1") fail("--metrics must be a 127.0.0.1 URL");
const firstPort = int("first-port", 1024, 65535);
const count = int("count", 1, 1000);
const pollMs = int("poll-ms", 1, 1000);
const timeoutMs = int("timeout-ms", 100, 60000);
if (!["immediate", "selected", "repeat"].includes(opts.mode)) {
  fail("--mode must be immediate, selected or repeat");
}

function fail(message) {
  process.stderr.write(`first-metric.mjs: ${message}\n`);
  process.exit(2);
}

function int(name, min, max) {
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n < min || n > max)
    fail(`--${name} must be an integer ${min}..${max}`);
  return n;
}

let current; // the running server, stopped on a signal
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    current?.kill("SIGKILL");
    process.exit(130);
  });
}

/** Starts the fixture server pinned to --cpu; resolves once it printed "listening". */
function startServer(port) {
  const child = spawn(
    "taskset",
    ["-c", opts.cpu, process.execPath, opts.server, String(port), "127.0.0.1"],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  current = child;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server on ${port} did not listen within 10s`)),
      10_000,
    );
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("listening")) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server on ${port} exited with ${code} before listening`));
    });
  });
}

async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** One GET on a new connection; resolves when the response has been read. */
function requestOnce(port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/users/1", agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.setTimeout(5000, () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
  });
}

function scrapeOnce() {
  return new Promise((resolve, reject) => {
    const req = http.get(metricsUrl, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve(body));
    });
    req.setTimeout(5000, () => req.destroy(new Error("scrape timed out")));
    req.on("error", reject);
  });
}

function hasSeries(text, port) {
  const needle = `server_port="${port}"`;
  for (const line of text.split("\n")) {
    if (line.startsWith("http_server_request_duration_seconds_count{") && line.includes(needle))
      return true;
  }
  return false;
}

async function waitSelected(pid) {
  const needle = `msg="instrumenting process" pid=${pid} `;
  for (let waited = 0; waited < 10_000; waited += 20) {
    if (readFileSync(opts["agent-log"], "utf8").includes(needle)) return;
    await sleep(20);
  }
  throw new Error(`the agent did not select pid ${pid} within 10s`);
}

const times = [];
let missed = 0;
for (let i = 0; i < count; i++) {
  const port = firstPort + i;
  const child = await startServer(port);
  if (opts.mode === "selected") await waitSelected(child.pid);
  const sentAt = performance.now();
  const responded = requestOnce(port);
  responded.catch(() => {}); // awaited (and thrown) below, after the polling
  const repeats = [];
  const repeater =
    opts.mode === "repeat"
      ? setInterval(() => {
          const r = requestOnce(port);
          r.catch(() => {});
          repeats.push(r);
        }, 20)
      : undefined;
  let seenAt;
  while (performance.now() - sentAt < timeoutMs) {
    const pollStart = performance.now();
    if (hasSeries(await scrapeOnce(), port)) {
      seenAt = performance.now();
      break;
    }
    const left = pollMs - (performance.now() - pollStart);
    if (left > 0) await sleep(left);
  }
  clearInterval(repeater);
  for (const r of [responded, ...repeats]) {
    const status = await r;
    if (status !== 200) throw new Error(`server on ${port} answered ${status}`);
  }
  if (seenAt === undefined) {
    missed++;
    process.stdout.write(
      `iteration mode=${opts.mode} port=${port} pid=${child.pid} missed (no series within ${timeoutMs} ms)\n`,
    );
  } else {
    const ms = seenAt - sentAt;
    times.push(ms);
    const sent = opts.mode === "repeat" ? ` requests=${repeats.length + 1}` : "";
    process.stdout.write(
      `iteration mode=${opts.mode} port=${port} pid=${child.pid} ms=${ms.toFixed(1)}${sent}\n`,
    );
  }
  await stopServer(child);
  current = undefined;
}

const sorted = [...times].sort((a, b) => a - b);
const median =
  sorted.length === 0
    ? NaN
    : sorted.length % 2
      ? sorted[(sorted.length - 1) / 2]
      : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
const fmt = (v) => (Number.isFinite(v) ? v.toFixed(1) : "nan");
process.stdout.write(
  `FIRSTMETRIC mode=${opts.mode} n=${count} captured=${times.length} missed=${missed} median_ms=${fmt(median)} max_ms=${fmt(sorted.at(-1))} min_ms=${fmt(sorted[0])}\n`,
);
