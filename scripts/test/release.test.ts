// The release flow, rehearsed in a throwaway copy of the workspace manifests (never in the
// checkout, where `changeset version` would consume the pending changesets): `changeset add`
// works, `changeset version` applies every pending changeset with independent versions, bumps
// dependents whose range the new version leaves, writes changelogs, leaves private packages alone,
// and `pnpm pack` turns `workspace:^` into a real range on the new versions.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeRun, type Manifest, readJson, ROOT, run, which } from "./support.ts";

type Bump = "major" | "minor" | "patch";
const RANK: Record<Bump, number> = { patch: 1, minor: 2, major: 3 };

/** The manifests of every workspace package (packages/*, examples/*, bench, conformance), by directory. */
function workspaceDirs(root: string): string[] {
  const dirs: string[] = [];
  for (const group of ["packages", "examples"]) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base).sort()) {
      if (existsSync(join(base, name, "package.json"))) dirs.push(`${group}/${name}`);
    }
  }
  for (const dir of ["bench", "conformance"]) if (existsSync(join(root, dir, "package.json"))) dirs.push(dir);
  return dirs;
}

/** Pending changesets: package name -> highest bump asked for, and each summary's first line. */
function pendingChangesets(dir: string): { bumps: Map<string, Bump>; summaries: Map<string, string[]> } {
  const bumps = new Map<string, Bump>();
  const summaries = new Map<string, string[]>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".md") && f !== "README.md")) {
    const text = readFileSync(join(dir, file), "utf8");
    const match = /^---\r?\n([\s\S]*?)^---[ \t]*\r?\n?([\s\S]*)$/m.exec(text);
    if (match?.[1] === undefined || match.index !== 0) throw new Error(`.changeset/${file} has no frontmatter`);
    const summary = (match[2] ?? "").trim().split("\n")[0] ?? "";
    for (const line of match[1].split("\n")) {
      const entry = /^\s*["']?([^"':]+)["']?\s*:\s*(major|minor|patch)\s*$/.exec(line);
      if (entry?.[1] === undefined) continue;
      const name = entry[1];
      const bump = entry[2] as Bump;
      const previous = bumps.get(name);
      if (previous === undefined || RANK[bump] > RANK[previous]) bumps.set(name, bump);
      summaries.set(name, [...(summaries.get(name) ?? []), summary]);
    }
  }
  return { bumps, summaries };
}

function increment(version: string, bump: Bump): string {
  const [major = 0, minor = 0, patch = 0] = version.split(".").map(Number);
  if (bump === "major") return `${major + 1}.0.0`;
  if (bump === "minor") return `${major}.${minor + 1}.0`;
  return `${major}.${minor}.${patch + 1}`;
}

/** Whether `version` satisfies `^base` (plain x.y.z versions). */
function caretSatisfies(base: string, version: string): boolean {
  const [a0 = 0, a1 = 0, a2 = 0] = base.split(".").map(Number);
  const [b0 = 0, b1 = 0, b2 = 0] = version.split(".").map(Number);
  const atLeast = b0 > a0 || (b0 === a0 && (b1 > a1 || (b1 === a1 && b2 >= a2)));
  if (!atLeast) return false;
  if (a0 > 0) return b0 === a0;
  if (a1 > 0) return b0 === 0 && b1 === a1;
  return b0 === 0 && b1 === 0 && b2 === a2;
}

const changesetBin = join(ROOT, "node_modules/.bin/changeset");
const pnpm = which("pnpm");

let work: string;
let before: Map<string, Manifest>;
let after: Map<string, Manifest>;
let expectedBumps: Map<string, Bump>;
let summaries: Map<string, string[]>;

beforeAll(async () => {
  expect(pnpm, "pnpm is not on PATH: run the suite through ./scripts/dev").toBeDefined();
  work = mkdtempSync(join(tmpdir(), "tako-release-"));
  // Copy what the release tools read: the root manifest, workspace file, lockfile, changesets and
  // every workspace package's manifest.
  for (const file of ["package.json", "pnpm-workspace.yaml", "pnpm-lock.yaml"]) cpSync(join(ROOT, file), join(work, file));
  cpSync(join(ROOT, ".changeset"), join(work, ".changeset"), { recursive: true });
  for (const dir of workspaceDirs(ROOT)) {
    mkdirSync(join(work, dir), { recursive: true });
    cpSync(join(ROOT, dir, "package.json"), join(work, dir, "package.json"));
  }
  // `pnpm changeset` is interactive; `changeset add --empty` exercises the same CLI without a TTY.
  const added = await run(changesetBin, ["add", "--empty"], { cwd: work, timeout: 30_000 });
  expect(added.code, describeRun("changeset add --empty", added)).toBe(0);
  // A changeset of our own makes the cross-package effect certain: a minor bump of @tako/core
  // leaves every dependent's 0.x caret range, so each dependent must get a patch release.
  writeFileSync(join(work, ".changeset/release-rehearsal.md"), `---\n"@tako/core": minor\n---\n\nRelease rehearsal by scripts/test/release.test.ts.\n`);

  before = new Map(workspaceDirs(work).map((dir) => [dir, readJson(join(work, dir, "package.json"))]));
  ({ bumps: expectedBumps, summaries } = pendingChangesets(join(work, ".changeset")));

  const versioned = await run(changesetBin, ["version"], { cwd: work, timeout: 60_000 });
  expect(versioned.code, describeRun("changeset version", versioned)).toBe(0);
  after = new Map(workspaceDirs(work).map((dir) => [dir, readJson(join(work, dir, "package.json"))]));
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("changeset version (in a throwaway copy)", () => {
  it("consumes every pending changeset", () => {
    const left = readdirSync(join(work, ".changeset")).filter((f) => f.endsWith(".md") && f !== "README.md");
    expect(left).toEqual([]);
  });

  it("bumps each package named in a changeset by its own bump, independently", () => {
    for (const [dir, manifest] of before) {
      const bump = expectedBumps.get(manifest.name);
      if (bump === undefined || manifest.private) continue;
      expect(after.get(dir)?.version, `${manifest.name} (${bump})`).toBe(increment(manifest.version, bump));
    }
  });

  it("writes each package's CHANGELOG.md with its changesets' text", () => {
    for (const [dir, manifest] of before) {
      const lines = summaries.get(manifest.name);
      if (lines === undefined || manifest.private) continue;
      const changelog = readFileSync(join(work, dir, "CHANGELOG.md"), "utf8");
      expect(changelog).toContain(`## ${after.get(dir)?.version}`);
      for (const line of lines) expect(changelog, `${manifest.name} CHANGELOG.md`).toContain(line.slice(0, 60));
    }
  });

  it("releases dependents whose range the new version leaves, noting the updated dependency", () => {
    const versionOf = new Map([...after.values()].map((m) => [m.name, m.version]));
    const oldVersionOf = new Map([...before.values()].map((m) => [m.name, m.version]));
    let checked = 0;
    for (const [dir, manifest] of before) {
      if (manifest.private) continue;
      for (const dep of Object.keys(manifest.dependencies ?? {})) {
        const oldVersion = oldVersionOf.get(dep);
        const newVersion = versionOf.get(dep);
        if (oldVersion === undefined || newVersion === undefined || caretSatisfies(oldVersion, newVersion)) continue;
        checked++;
        const own = after.get(dir)?.version ?? "";
        expect(own, `${manifest.name} depends on ${dep}, which left ^${oldVersion}`).not.toBe(manifest.version);
        expect(readFileSync(join(work, dir, "CHANGELOG.md"), "utf8")).toContain(`${dep}@${newVersion}`);
      }
    }
    expect(checked, "the rehearsal's @tako/core minor bump should reach every dependent").toBeGreaterThanOrEqual(4);
  });

  it("leaves private packages (examples, bench, conformance) unversioned", () => {
    for (const [dir, manifest] of before) {
      if (!manifest.private) continue;
      expect(after.get(dir)?.version, dir).toBe(manifest.version);
      expect(existsSync(join(work, dir, "CHANGELOG.md")), `${dir}/CHANGELOG.md`).toBe(false);
    }
  });

  it("packs with real ranges on the new versions in place of workspace:^", async () => {
    const installed = await run(pnpm!, ["install", "--offline", "--frozen-lockfile", "--filter", "./packages/*"], { cwd: work, timeout: 90_000 });
    expect(installed.code, describeRun("pnpm install --offline", installed)).toBe(0);
    const out = join(work, "packed");
    mkdirSync(out);
    const versionOf = new Map([...after.values()].map((m) => [m.name, m.version]));
    const published = [...after].filter(([, m]) => !m.private);
    const packed = await Promise.all(
      published.map(async ([dir, manifest]) => {
        const result = await run(pnpm!, ["pack", "--pack-destination", out], { cwd: join(work, dir), timeout: 60_000 });
        expect(result.code, describeRun(`pnpm pack (${manifest.name})`, result)).toBe(0);
        const tarball = join(out, `${manifest.name.replace("@", "").replace("/", "-")}-${manifest.version}.tgz`);
        const extracted = join(out, manifest.name.replace("/", "__"));
        mkdirSync(extracted);
        const untar = await run("tar", ["-xzf", tarball, "-C", extracted], { timeout: 30_000 });
        expect(untar.code, describeRun("tar", untar)).toBe(0);
        return readJson(join(extracted, "package/package.json"));
      }),
    );
    for (const manifest of packed) {
      expect(manifest.version).toBe(versionOf.get(manifest.name));
      for (const [dep, range] of Object.entries(manifest.dependencies ?? {})) {
        expect(range, `${manifest.name} -> ${dep}`).not.toMatch(/^workspace:/);
        const internal = versionOf.get(dep);
        if (internal !== undefined) expect(range, `${manifest.name} -> ${dep}`).toBe(`^${internal}`);
      }
    }
    expect(dirname(out)).toBe(work);
  }, 150_000);
});
