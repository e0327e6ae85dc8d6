// The docs check: every symbol a package exports carries a doc comment with an `@example`, every
// package has a README with an install line, the root README's TypeScript examples compile
// against the real sources, and the scripts themselves typecheck.
import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { publishablePackages, ROOT } from "./support.ts";

const packages = publishablePackages();

/** Compiler options as the packages use them (tsconfig.base.json: `@tako/*` resolved to src through the `tako-source` condition). */
function compilerOptions(): ts.CompilerOptions {
  const configPath = join(ROOT, "packages/core/tsconfig.json");
  const read = ts.readConfigFile(configPath, ts.sys.readFile);
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, "\n"));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, join(ROOT, "packages/core"), undefined, configPath);
  return { ...parsed.options, noEmit: true, rootDir: ROOT };
}

function formatDiagnostics(diagnostics: readonly ts.Diagnostic[]): string {
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => ROOT,
    getNewLine: () => "\n",
  });
}

/** A package's entry points: the source file behind each `exports` subpath (its `tako-source` target). */
function entryPoints(pkg: (typeof packages)[number]): string[] {
  const exported = pkg.manifest.exports as Record<string, string | Record<string, string>>;
  return Object.values(exported).flatMap((entry) => (typeof entry === "object" && entry["tako-source"] ? [join(pkg.dir, entry["tako-source"])] : []));
}

/** One program over every package entry point, shared by the per-package checks. */
const program = ts.createProgram(packages.flatMap(entryPoints), compilerOptions());
const checker = program.getTypeChecker();

function hasExample(declaration: ts.Declaration): boolean {
  const docs = ts.getJSDocCommentsAndTags(declaration).filter(ts.isJSDoc);
  return docs.some((doc) => (doc.tags ?? []).some((tag) => tag.tagName.text === "example"));
}

function hasComment(declaration: ts.Declaration): boolean {
  return ts.getJSDocCommentsAndTags(declaration).some((doc) => ts.isJSDoc(doc) && (doc.comment !== undefined || (doc.tags?.length ?? 0) > 0));
}

/** Exported names of a package entry point whose declarations lack a doc comment with `@example`. */
function undocumentedExports(indexPath: string): { exported: number; offenders: string[] } {
  const source = program.getSourceFile(indexPath);
  if (source === undefined) throw new Error(`${indexPath} is not in the program`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  const exports = moduleSymbol ? checker.getExportsOfModule(moduleSymbol) : [];
  const offenders: string[] = [];
  for (const exported of exports) {
    const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const declarations = target.declarations ?? [];
    if (declarations.some(hasExample)) continue;
    const first = declarations[0];
    const where = first ? `${relative(ROOT, first.getSourceFile().fileName)}:${first.getSourceFile().getLineAndCharacterOfPosition(first.getStart()).line + 1}` : "?";
    const missing = declarations.some(hasComment) ? "no @example" : "no doc comment";
    offenders.push(`${exported.name} (${missing}; ${where})`);
  }
  return { exported: exports.length, offenders };
}

describe("every exported symbol has a doc comment with an @example", () => {
  it("finds the publishable packages", () => {
    expect(packages.map((pkg) => pkg.name)).toEqual(expect.arrayContaining(["@tako/core", "@tako/tcp", "@tako/udp", "@tako/unix", "@tako/unix-http"]));
  });

  it.each(packages.flatMap((pkg) => entryPoints(pkg).map((entry) => [`${pkg.name} (${relative(pkg.dir, entry)})`, entry] as const)))("%s", (name, entry) => {
    const { exported, offenders } = undocumentedExports(entry);
    expect(exported, `${name} exports nothing`).toBeGreaterThan(0);
    expect(offenders, `${name}: exports without a doc comment containing @example:\n  ${offenders.join("\n  ")}\n`).toEqual([]);
  });
});

/** What every listener package re-exports from @tako/core, the same list everywhere. */
const SHARED_FROM_CORE = [
  "BindError",
  "CHANNELS",
  "ClosedError",
  "DrainReport",
  "FrameTooLargeError",
  "InvalidAddressError",
  "InvalidConfigError",
  "InvalidSocketPathError",
  "Logger",
  "ProtocolError",
  "ServerStats",
  "ShutdownSignal",
  "TakoError",
  "UnsupportedError",
  "shutdownSignal",
];
/** The PROXY protocol pieces the stream listeners (PROXY receivers) re-export for clients and relays. */
const PROXY_FROM_CORE = ["encodeProxyHeader", "parseProxyHeader", "ProxyHeaderInput", "ProxyInfo"];
/** And what each adds because its own signatures use it. */
const OWN_FROM_CORE: Record<string, string[]> = {
  "@tako/tcp": ["AddressInput", "FdAddress", "HandlerContext", "Server", "SocketAddress", "reusePortSupported", ...PROXY_FROM_CORE, "ProxyProtocolOption", "ProxyProtocolOptions"],
  "@tako/udp": ["AddressInput", "FdAddress", "HandlerContext", "Server", "SocketAddress", "reusePortSupported"],
  "@tako/unix": ["FdAddress", "HandlerContext", "Server", ...PROXY_FROM_CORE, "UnixProxyProtocolOption"],
  "@tako/unix-http": ["DEFAULT_SERVER_CONFIG", "ServerConfig"],
};

describe("the listener packages re-export one deliberate list from @tako/core", () => {
  const coreDir = join(ROOT, "packages/core/");
  it.each(Object.entries(OWN_FROM_CORE))("%s", (name, own) => {
    const pkg = packages.find((p) => p.name === name);
    expect(pkg, name).toBeDefined();
    const source = program.getSourceFile(join(pkg!.dir, "src/index.ts"))!;
    const fromCore = checker
      .getExportsOfModule(checker.getSymbolAtLocation(source)!)
      .filter((symbol) => (checker.getAliasedSymbol(symbol).declarations ?? []).some((d) => d.getSourceFile().fileName.startsWith(coreDir)))
      .map((symbol) => symbol.name);
    expect(fromCore.sort()).toEqual([...SHARED_FROM_CORE, ...own].sort());
  });
});

describe("every package has a README with an install line", () => {
  it.each(packages.map((pkg) => [pkg.name, pkg] as const))("%s", (name, pkg) => {
    const readme = join(pkg.dir, "README.md");
    expect(existsSync(readme), `${relative(ROOT, readme)} is missing`).toBe(true);
    const text = readFileSync(readme, "utf8");
    const install = new RegExp(`(npm (i|install)|pnpm add|yarn add) ${name.replace("/", "\\/")}(\\s|$|\`)`, "m");
    expect(text, `${relative(ROOT, readme)} has no install line ("npm i ${name}")`).toMatch(install);
  });
});

/** The fenced ```ts blocks of a Markdown file, with the line each starts on. */
function typescriptBlocks(markdown: string): { line: number; code: string }[] {
  const blocks: { line: number; code: string }[] = [];
  const fence = /^```(ts|typescript)\s*\n([\s\S]*?)^```\s*$/gm;
  for (const match of markdown.matchAll(fence)) {
    const line = markdown.slice(0, match.index).split("\n").length;
    blocks.push({ line, code: match[2] ?? "" });
  }
  return blocks;
}

describe("the root README", () => {
  const readmePath = join(ROOT, "README.md");
  const readme = existsSync(readmePath) ? readFileSync(readmePath, "utf8") : "";

  it("starts the quick start with the demo and the test suite", () => {
    expect(readme).toContain("./scripts/dev demo");
    expect(readme).toContain("./scripts/dev test");
    for (const pkg of packages) expect(readme, `no link to ${pkg.name}'s README`).toContain(`${relative(ROOT, pkg.dir)}/README.md`);
  });

  it("has TypeScript examples that compile against the packages' sources", () => {
    const blocks = typescriptBlocks(readme);
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    // Each block is its own ES module beside the root package.json (type: module), so
    // top-level await and `@tako/*` imports resolve as they do for a user.
    const files = new Map(blocks.map((block) => [join(ROOT, `README.block-${block.line}.ts`), block.code]));
    const options = compilerOptions();
    const host = ts.createCompilerHost(options);
    const { getSourceFile, fileExists, readFile } = host;
    host.fileExists = (file) => files.has(file) || fileExists.call(host, file);
    host.readFile = (file) => files.get(file) ?? readFile.call(host, file);
    host.getSourceFile = (file, language, onError, create) => {
      const code = files.get(file);
      return code === undefined ? getSourceFile.call(host, file, language, onError, create) : ts.createSourceFile(file, code, language, true);
    };
    const check = ts.createProgram([...files.keys()], options, host);
    const diagnostics = ts.getPreEmitDiagnostics(check).filter((d) => d.file === undefined || files.has(d.file.fileName));
    expect(formatDiagnostics(diagnostics)).toBe("");
  });
});

describe("the release scripts typecheck", () => {
  it("scripts/demo.ts and scripts/test/*.ts", () => {
    const configPath = join(ROOT, "scripts/tsconfig.json");
    const read = ts.readConfigFile(configPath, ts.sys.readFile);
    const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, join(ROOT, "scripts"), undefined, configPath);
    const check = ts.createProgram(parsed.fileNames, parsed.options);
    expect(formatDiagnostics([...parsed.errors, ...ts.getPreEmitDiagnostics(check)])).toBe("");
  });
});
