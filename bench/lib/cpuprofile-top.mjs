#!/usr/bin/env node
// Prints the functions with the most self time in a V8 .cpuprofile (node --cpu-prof).
//
//   node bench/lib/cpuprofile-top.mjs FILE.cpuprofile [TOP=25] [FROM_S TO_S]
//
// FROM_S/TO_S keep only the samples taken that many seconds after the profile started (the
// process's start), e.g. the load phase without the start-up and shut-down.
// Self time of a sample is the time until the next sample (as Chrome DevTools counts it).
// Functions are grouped by name, script and line; "(idle)" is the event loop waiting, so
// percentages are given of the whole profile and of the busy (non-idle) time.
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

const [file, topArg, fromArg, toArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write("usage: cpuprofile-top.mjs FILE.cpuprofile [TOP] [FROM_S TO_S]\n");
  process.exit(2);
}
const fromUs = fromArg === undefined ? -Infinity : Number(fromArg) * 1e6;
const toUs = toArg === undefined ? Infinity : Number(toArg) * 1e6;
if (Number.isNaN(fromUs) || Number.isNaN(toUs) || fromUs > toUs) {
  process.stderr.write(
    `FROM_S TO_S must be numbers with FROM_S <= TO_S, got ${fromArg} ${toArg}\n`,
  );
  process.exit(2);
}
const top = Number(topArg ?? 25);
if (!Number.isInteger(top) || top < 1) {
  process.stderr.write(`TOP must be a positive integer, got ${JSON.stringify(topArg)}\n`);
  process.exit(2);
}

const profile = JSON.parse(readFileSync(file, "utf8"));
if (!Array.isArray(profile.nodes) || !Array.isArray(profile.samples)) {
  process.stderr.write(`${file}: not a .cpuprofile (no nodes/samples)\n`);
  process.exit(1);
}
const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map(); // node id -> µs
const { samples, timeDeltas = [] } = profile;
// Sample i was taken at ts[i] and counts until ts[i + 1] (the last one until endTime).
const ts = new Array(samples.length);
for (let i = 0, t = profile.startTime; i < samples.length; i++) {
  t += timeDeltas[i] ?? 0;
  ts[i] = t;
}
for (let i = 0; i < samples.length; i++) {
  const at = ts[i] - profile.startTime;
  if (at < fromUs || at > toUs) continue;
  const duration = (i + 1 < samples.length ? ts[i + 1] : profile.endTime) - ts[i];
  selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(0, duration));
}

function where(frame) {
  if (!frame.url) return "";
  let url = frame.url;
  if (url.startsWith("file://")) url = fileURLToPath(url);
  if (url.startsWith(repoRoot)) url = relative(repoRoot, url);
  return `${url}:${frame.lineNumber + 1}`;
}

const groups = new Map();
let totalUs = 0;
let idleUs = 0;
for (const [id, us] of selfUs) {
  const frame = byId.get(id)?.callFrame ?? { functionName: "(unknown)", url: "", lineNumber: -1 };
  const name = frame.functionName || "(anonymous)";
  const key = `${name}\u0000${where(frame)}`;
  const g = groups.get(key) ?? { name, where: where(frame), us: 0 };
  g.us += us;
  groups.set(key, g);
  totalUs += us;
  if (name === "(idle)") idleUs += us;
}

const busyUs = totalUs - idleUs;
const rows = [...groups.values()].sort((a, b) => b.us - a.us).slice(0, top);
const pct = (us, of) => (of > 0 ? ((100 * us) / of).toFixed(1) : "-");
const window = fromArg === undefined ? "" : ` between ${fromArg}s and ${toArg}s`;
process.stdout.write(
  `profile ${file}${window}: ${(totalUs / 1e3).toFixed(0)} ms sampled, ${(busyUs / 1e3).toFixed(0)} ms busy (not idle)\n`,
);
process.stdout.write(
  `${"self ms".padStart(9)} ${"% all".padStart(6)} ${"% busy".padStart(6)}  function  (script:line)\n`,
);
for (const r of rows) {
  const busy = r.name === "(idle)" ? "-" : pct(r.us, busyUs);
  process.stdout.write(
    `${(r.us / 1e3).toFixed(1).padStart(9)} ${pct(r.us, totalUs).padStart(6)} ${busy.padStart(6)}  ${r.name}${r.where ? `  (${r.where})` : ""}\n`,
  );
}
