/** Renders results as Markdown. */
import type { Results, Row } from "./results.ts";
import type { Summary } from "./stats.ts";

function num(n: number, unit = ""): string {
  if (!Number.isFinite(n)) return "n/a";
  const abs = Math.abs(n);
  const text = abs >= 1000 ? Math.round(n).toLocaleString("en-US") : abs >= 100 ? n.toFixed(0) : abs >= 10 ? n.toFixed(1) : n.toFixed(2);
  return unit ? `${text} ${unit}` : text;
}

function ratioText(s: Summary): string {
  return Number.isFinite(s.median) ? s.median.toFixed(3) : "n/a";
}

function spreadText(s: Summary): string {
  if (!Number.isFinite(s.median)) return "n/a";
  return `IQR ${s.p25.toFixed(2)}–${s.p75.toFixed(2)}, CI ${s.ci95[0].toFixed(2)}–${s.ci95[1].toFixed(2)}`;
}

function goalText(_row: Row, goal: { min: number } | { max: number } | null): string {
  if (goal === null) return "";
  return "min" in goal ? `≥ ${goal.min}` : `≤ ${goal.max}`;
}

function pct(n: number | undefined): string {
  return n === undefined || !Number.isFinite(n) ? "" : `${Math.round(n * 100)} %`;
}

/** The results as a Markdown document (the same table the run prints). */
export function renderMarkdown(results: Results): string {
  const m = results.machine;
  const runtime = typeof results.settings.runtime === "string" ? results.settings.runtime : "node";
  const informative = runtime !== "node";
  const lines: string[] = [];
  lines.push(`# Tako bench results${results.smoke ? " (smoke run: figures not meaningful)" : ""}`);
  lines.push("");
  lines.push(`- Machine: ${m.cpus} CPUs, ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}`);
  lines.push(
    `- Node ${m.node} (V8 ${m.v8}); ${m.pinned ? `servers pinned to core ${m.serverCore}, load client to core ${m.clientCore} (taskset)` : "not pinned (taskset unavailable or < 2 CPUs)"}`,
  );
  if (informative) lines.push(`- Servers (ours and every baseline) on **${runtime}**, load clients on Node: informative, no goal applies`);
  if (results.idleBefore.length > 0) {
    const busy = results.idleBefore.map((b, i) => `core ${i} ${pct(b)}`).join(", ");
    const quiet = results.idleBefore.every((b) => b < 0.1);
    lines.push(`- Machine load in the second before the run: ${busy}${quiet ? "" : " (NOT idle: figures are noisy)"}`);
  }
  lines.push(
    `- Other load: waited ${(results.quiet.waitedMs / 1000).toFixed(1)} s in total for other processes to quiet down before reps; ${results.quiet.noisyStarts} rep(s) started with a core > 20 % busy anyway (otherLoadBefore in the side table)`,
  );
  lines.push(`- Run: ${results.startedAt}, ${Math.round(results.durationSec)} s; settings ${JSON.stringify(results.settings)}`);
  lines.push(
    '- Ratio = ours / baseline, per rep (runs interleaved), median over reps; IQR = interquartile range of the per-rep ratios; CI = 95 % confidence interval of the median. "within noise" means the CI straddles the goal. Server CPU/unit = the server process\'s CPU time per request/message/datagram (or per MB), ours / baseline, median of per-rep ratios (lower is better; steadier than throughput when the machine is shared).',
  );
  lines.push("");
  lines.push("| Case | Unit | Better | Ours (tako) | Baseline | Baseline figure | Ratio | Spread | Reps | Goal | Met | Server CPU/unit, ours/baseline |");
  lines.push("|---|---|---|---:|---|---:|---:|---|---:|---|---|---:|");
  for (const row of results.rows) {
    if (row.comparisons.length === 0) continue;
    row.comparisons.forEach((c, k) => {
      const goal = informative ? "" : goalText(row, c.goal);
      const met = informative ? "" : (c.met ?? "");
      lines.push(
        `| ${k === 0 ? row.name : ""} | ${k === 0 ? row.unit : ""} | ${k === 0 ? row.better : ""} | ${k === 0 ? num(row.oursFigure.median) : ""} | ${c.baseline} | ${num(c.baselineFigure.median)} | ${ratioText(c.ratio)} | ${spreadText(c.ratio)} | ${row.reps} | ${goal} | ${met} | ${c.cpuPerUnitRatio ? ratioText(c.cpuPerUnitRatio) : ""} |`,
      );
    });
    if (row.absoluteGoal && !informative) {
      lines.push(`| | | | | *absolute* | | | | | ours ≤ ${row.absoluteGoal.max} ${row.unit} | ${row.absoluteGoal.met} | |`);
    }
  }
  lines.push("");
  lines.push("## Load and side figures (medians over reps)");
  lines.push("");
  lines.push(
    "Client CPU and server CPU are each process's own CPU time over the run (fraction of one core); coreNBusy is the whole core's busy time from /proc/stat (includes kernel softirq work and anything else running).",
  );
  lines.push("");
  lines.push("| Case | Impl | Figure | Client CPU | Server CPU | Other |");
  lines.push("|---|---|---:|---:|---:|---|");
  for (const row of results.rows) {
    for (const [impl, d] of Object.entries(row.detail)) {
      const figure = impl === row.ours ? row.oursFigure.median : row.comparisons.find((c) => c.baseline === impl)?.baselineFigure.median;
      const other = Object.entries(d)
        .filter(([k]) => k !== "clientCpu" && k !== "serverCpu")
        .map(([k, v]) => `${k} ${k === "loss" || k === "closedFraction" || k.endsWith("Busy") || k === "otherLoadBefore" ? pct(v) : num(v)}`)
        .join(", ");
      lines.push(`| ${row.name} | ${impl} | ${num(figure ?? Number.NaN, row.unit)} | ${pct(d.clientCpu)} | ${pct(d.serverCpu)} | ${other} |`);
    }
  }
  lines.push("");
  lines.push("## Figure sources");
  lines.push("");
  for (const [k, v] of Object.entries(results.clients)) lines.push(`- ${k}: ${v}`);
  const notes = results.rows.flatMap((r) => (r.notes ?? []).map((n) => `- ${r.name}: ${n}`));
  if (notes.length > 0) {
    lines.push("");
    lines.push("## Notes");
    lines.push("");
    lines.push(...notes);
  }
  if (results.errors.length > 0) {
    lines.push("");
    lines.push("## Errors");
    lines.push("");
    for (const e of results.errors) lines.push(`- ${e.id}: ${e.error.split("\n")[0]}`);
  }
  lines.push("");
  return lines.join("\n");
}
