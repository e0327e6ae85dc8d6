/**
 * The bench never rots: run the whole suite in smoke mode (every case once, tiny durations) and
 * check it completed with a row per case and numeric figures. Figures are not judged here.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const benchDir = fileURLToPath(new URL("..", import.meta.url));
const root = path.resolve(benchDir, "..");
const PACKAGES = ["core", "tcp", "udp", "unix", "unix-http", "framing"];
const EXPECTED_ROWS = [
  "tcp-echo-64-16",
  "tcp-echo-64-256",
  "tcp-echo-16k-16",
  "conn-rate-tcp",
  "conn-rate-tcp-proxy-v2",
  "unix-echo-64-16",
  "unix-echo-64-256",
  "unix-echo-16k-16",
  "conn-rate-unix",
  "conn-rate-unix-credentials",
  "udp-echo-64",
  "udp-echo-1400",
  "udp-echo-64-send",
  "udp-echo-1400-send",
  "http-text",
  "http-text-p99",
  "http-json",
  "http-json-p99",
  "http-text-autocannon",
  "http-json-autocannon",
  "h2c-text",
  "ws-echo",
  "shutdown-tcp",
  "shutdown-http",
  "memory-tcp",
  "memory-tcp-rss",
  "framing-lines",
  "framing-length-prefixed",
];

/** Builds the workspace packages the bench imports (by name, so from dist) when any dist is missing. */
function buildIfMissing(): void {
  if (PACKAGES.every((p) => existsSync(path.join(root, "packages", p, "dist", "index.js")))) return;
  const env = { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ""}` };
  const r = spawnSync(path.join(root, "node_modules", ".bin", "turbo"), ["run", "build", "--filter=@tako/bench...", "--output-logs=errors-only"], {
    cwd: root,
    env,
    encoding: "utf8",
  });
  if (r.status !== 0) {
    throw new Error(`build failed (${r.status}; turbo needs pnpm on PATH: run the tests through ./scripts/dev):\n${r.stdout}\n${r.stderr}`);
  }
}

/** The path of the pinned Bun or Deno, installed by the project's own setup (scripts/dev, from the npm registry) if missing. */
function runtimeBinary(name: "bun" | "deno"): string {
  const r = spawnSync("bash", [path.join(root, "scripts", "dev"), "--with", name, "sh", "-c", `command -v ${name}`], { cwd: root, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`scripts/dev --with ${name} failed (${r.status}):\n${r.stderr}`);
  return r.stdout.trim().split("\n").at(-1) as string;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(benchDir, "src", "run.ts"), ...args], { cwd: benchDir, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 150_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface Summary {
  median: number;
}
interface Row {
  id: string;
  reps: number;
  oursFigure: Summary;
  comparisons: Array<{ baseline: string; baselineFigure: Summary; ratio: Summary }>;
}

interface Results {
  smoke: boolean;
  errors: unknown[];
  rows: Row[];
  machine: { cpus: number; node: string };
  settings: { loadClient?: { echo: string; connRate: string; udp: string }; runtime?: string };
}

const out = mkdtempSync(path.join(os.tmpdir(), "tako-bench-smoke-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("bench smoke run", () => {
  it("touches every case once and reports numeric figures for ours and each baseline", { timeout: 240_000 }, async () => {
    buildIfMissing();
    const r = await run(["--smoke", `--out=${out}`]);
    expect(r.code, `bench exited ${r.code}\n${r.stderr.slice(-4000)}`).toBe(0);
    const results = JSON.parse(readFileSync(path.join(out, "latest.json"), "utf8")) as Results;
    expect(results.smoke).toBe(true);
    expect(results.errors).toEqual([]);
    expect(results.machine.node).toBe(process.version);
    // With a C compiler on the machine the UDP figures come from the native client.
    if (spawnSync(process.env.CC ?? "cc", ["--version"]).status === 0) expect(results.settings.loadClient).toEqual({ echo: "native", connRate: "native", udp: "native" });
    expect(results.rows.map((row) => row.id).sort()).toEqual([...EXPECTED_ROWS].sort());
    for (const row of results.rows) {
      expect(row.reps, row.id).toBeGreaterThanOrEqual(1);
      expect(Number.isFinite(row.oursFigure.median), `${row.id} ours`).toBe(true);
      expect(row.comparisons.length, row.id).toBeGreaterThan(0);
      for (const c of row.comparisons) {
        expect(Number.isFinite(c.baselineFigure.median), `${row.id} ${c.baseline}`).toBe(true);
        // A smoke run holds a few hundred connections, so a rep's RSS growth per connection can round
        // to 0 and that rep's memory ratio is then not finite (JSON null): only a real run judges it.
        if (row.id.startsWith("memory")) expect(c.ratio, `${row.id} ratio vs ${c.baseline}`).toHaveProperty("median");
        else expect(Number.isFinite(c.ratio.median), `${row.id} ratio vs ${c.baseline}`).toBe(true);
      }
    }
    const markdown = readFileSync(path.join(out, "latest.md"), "utf8");
    expect(markdown).toContain("| Case | Unit |");
    expect(r.stdout).toContain("| Case | Unit |");
  });

  it("runs the echo, connection-rate and UDP cases with the Node clients too (the fallback where no C compiler exists)", { timeout: 120_000 }, async () => {
    buildIfMissing();
    const nodeOut = path.join(out, "node-clients");
    const r = await run(["--smoke", "--only=echo-64-16,echo-16k,conn-rate,udp", "--load-client=node", `--out=${nodeOut}`]);
    expect(r.code, `bench exited ${r.code}\n${r.stderr.slice(-4000)}`).toBe(0);
    const results = JSON.parse(readFileSync(path.join(nodeOut, "latest.json"), "utf8")) as Results;
    expect(results.errors).toEqual([]);
    expect(results.settings.loadClient).toEqual({ echo: "node", connRate: "node", udp: "node" });
    const ids = [
      "conn-rate-tcp",
      "conn-rate-tcp-proxy-v2",
      "conn-rate-unix",
      "conn-rate-unix-credentials",
      "tcp-echo-16k-16",
      "tcp-echo-64-16",
      "udp-echo-1400",
      "udp-echo-1400-send",
      "udp-echo-64",
      "udp-echo-64-send",
      "unix-echo-16k-16",
      "unix-echo-64-16",
    ];
    expect(results.rows.map((row) => row.id).sort()).toEqual(ids);
    for (const row of results.rows) expect(Number.isFinite(row.comparisons[0]?.ratio.median), row.id).toBe(true);
  });

  // Informative only (no goal): the servers start and measure on Bun and Deno too.
  it.each(["bun", "deno"] as const)("runs a stream echo case with its servers on %s (--runtime)", { timeout: 120_000 }, async (name) => {
    buildIfMissing();
    const binary = runtimeBinary(name);
    const runtimeOut = path.join(out, `runtime-${name}`);
    const r = await run(["--smoke", "--only=tcp-echo-64-16", "--load-client=node", `--runtime=${name}`, `--out=${runtimeOut}`], {
      [name === "bun" ? "BENCH_BUN" : "BENCH_DENO"]: binary,
    });
    expect(r.code, `bench exited ${r.code}\n${r.stderr.slice(-4000)}`).toBe(0);
    const results = JSON.parse(readFileSync(path.join(runtimeOut, "latest.json"), "utf8")) as Results;
    expect(results.errors).toEqual([]);
    expect(results.settings.runtime).toBe(name);
    expect(results.rows.map((row) => row.id)).toEqual(["tcp-echo-64-16"]);
    const row = results.rows[0] as Row;
    expect(Number.isFinite(row.oursFigure.median) && row.oursFigure.median > 0).toBe(true);
    expect(Number.isFinite(row.comparisons[0]?.ratio.median)).toBe(true);
    const markdown = readFileSync(path.join(runtimeOut, "latest.md"), "utf8");
    expect(markdown).toContain(`Servers (ours and every baseline) on **${name}**`);
  });
});
