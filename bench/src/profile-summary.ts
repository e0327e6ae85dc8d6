/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. `node src/run.ts --cpu-prof=tako`):
 * self time by function and by file, and inclusive time of the functions you name.
 *
 *   node src/profile-summary.ts results/tmp/profiles/http-tako/CPU.*.cpuprofile [--top=40] [--filter=unix-http]
 */
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

const args = process.argv.slice(2);
const files = args.filter((a) => !a.startsWith("--"));
const top = Number(args.find((a) => a.startsWith("--top="))?.slice(6) ?? 40);
const filter = args.find((a) => a.startsWith("--filter="))?.slice(9);

function shortUrl(url: string): string {
  const m = /(packages\/[^/]+\/(?:dist|src)\/.*|node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?(.*))$/.exec(url);
  if (m) return m[2] ?? m[1] ?? url;
  return url.replace(/^node:/, "node:").replace(/^file:\/\/.*\/bench\//, "bench/");
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Self time per node from samples and time deltas (µs).
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0));
  }
  // Percentages are of busy time: the "(idle)" node (waiting in the event loop) is left out.
  const idleIds = new Set(profile.nodes.filter((n) => n.callFrame.functionName === "(idle)").map((n) => n.id));
  for (const id of idleIds) self.delete(id);
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fnSelf = new Map<string, number>();
  const fileSelf = new Map<string, number>();
  const fnTotal = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id) as Node;
    const where = shortUrl(n.callFrame.url);
    const key = `${n.callFrame.functionName || "(anonymous)"} ${where}${where ? `:${n.callFrame.lineNumber + 1}` : ""}`;
    fnSelf.set(key, (fnSelf.get(key) ?? 0) + us);
    fileSelf.set(where || "(native/vm)", (fileSelf.get(where || "(native/vm)") ?? 0) + us);
    // Inclusive: add to every distinct ancestor frame once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const a = byId.get(cur) as Node;
      const w = shortUrl(a.callFrame.url);
      const k = `${a.callFrame.functionName || "(anonymous)"} ${w}${w ? `:${a.callFrame.lineNumber + 1}` : ""}`;
      if (seen.has(k)) continue;
      seen.add(k);
      fnTotal.set(k, (fnTotal.get(k) ?? 0) + us);
    }
  }
  const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
  const show = (title: string, map: Map<string, number>) => {
    console.log(`\n${title}`);
    const rows = [...map.entries()].filter(([k]) => filter === undefined || k.includes(filter)).sort((a, b) => b[1] - a[1]);
    for (const [k, us] of rows.slice(0, top)) console.log(`${pct(us)}  ${k}`);
  };
  console.log(`# ${file}: ${(total / 1e6).toFixed(2)} s busy (percentages of busy time)`);
  show("Self time by file", fileSelf);
  show("Self time by function", fnSelf);
  show("Inclusive time by function", fnTotal);
}
