// The `@example` blocks of every exported symbol compile, as the README's examples do: each block
// is its own module, with every package's public exports and a few context names (a handler, a
// socket, a server, ...) declared around it, so a name that does not exist fails here.
import { join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { checkInMemory, packageCompilerOptions, publishablePackages, ROOT } from "./support.ts";

const packages = publishablePackages();

/** The entry points (the `tako-source` target of each `exports` subpath), by specifier. */
const entries = packages.flatMap((pkg) =>
  Object.entries(pkg.manifest.exports as Record<string, string | Record<string, string>>).flatMap(([subpath, entry]) =>
    typeof entry === "object" && entry["tako-source"] ? [{ specifier: join(pkg.name, subpath), file: join(pkg.dir, entry["tako-source"]) }] : [],
  ),
);

const options = packageCompilerOptions();
const program = ts.createProgram(
  entries.map((e) => e.file),
  options,
);
const checker = program.getTypeChecker();

/** Every exported name of every entry point, value and type, with the first entry that exports it. */
function exportedNames(): Map<string, { valueFrom: string | undefined; typeFrom: string | undefined }> {
  const names = new Map<string, { valueFrom: string | undefined; typeFrom: string | undefined }>();
  for (const { specifier, file } of entries) {
    const source = program.getSourceFile(file)!;
    for (const symbol of checker.getExportsOfModule(checker.getSymbolAtLocation(source)!)) {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      const seen = names.get(symbol.name) ?? { valueFrom: undefined, typeFrom: undefined };
      // The first entry point that exports a name as a value (or a type) provides it.
      if (seen.valueFrom === undefined && (target.flags & ts.SymbolFlags.Value) !== 0) seen.valueFrom = specifier;
      if (seen.typeFrom === undefined && (target.flags & ts.SymbolFlags.Type) !== 0) seen.typeFrom = specifier;
      names.set(symbol.name, seen);
    }
  }
  return names;
}

/** What a doc example may use without declaring it: the packages' exports and the usual context. */
function prelude(): string {
  const lines = ['import type * as net from "node:net";', 'import type * as http from "node:http";', "declare global {"];
  for (const [name, { valueFrom, typeFrom }] of exportedNames()) {
    // `Server` the value is unix-http's builder (core's plus spawnUnixHttp); the type is core's generic handle.
    if (valueFrom) lines.push(`  const ${name}: typeof import(${JSON.stringify(name === "Server" ? "@tako/unix-http" : valueFrom)}).${name};`);
    if (typeFrom) lines.push(`  type ${name}${genericParams(name)} = import(${JSON.stringify(typeFrom)}).${name}${genericArgs(name)};`);
  }
  lines.push(
    '  const net: typeof import("node:net");',
    "  namespace net {",
    '    type AddressInfo = import("node:net").AddressInfo;',
    '    type Socket = import("node:net").Socket;',
    '    type Server = import("node:net").Server;',
    "  }",
    '  const pino: () => import("@tako/core").Logger;',
    '  const dgram: typeof import("node:dgram");',
    '  const subscribe: typeof import("node:diagnostics_channel").subscribe;',
    '  const once: typeof import("node:events").once;',
    '  const fstatSync: typeof import("node:fs").fstatSync;',
    '  type AddressInfo = import("node:net").AddressInfo;',
    '  const drain: import("@tako/core/listener").Drain;',
    "  const metrics: { increment(name: string): void };",
    // Placeholders an example may lean on: the user's own values and functions.
    ...[
      "handler",
      "handle",
      "address",
      "error",
      "data",
      "ctx",
      "port",
      "path",
      "input",
      "line",
      "a",
      "b",
      "count",
      "payload",
      "index",
      "loadConfig",
      "onConnection",
      "fd",
      "info",
      "onMessage",
      "onDone",
      "onFailed",
      "readLines",
      "requireLogin",
      "createUser",
      "adminPage",
      "serve",
    ].map((name) => `  let ${name}: any;`),
    "  const socket: net.Socket;",
    "  const server: any;",
    '  const router: import("@tako/unix-http").Router;',
    "  const peer: any;",
    "  const options: any;",
    "  const signal: AbortSignal;",
    '  const logger: import("@tako/core").Logger;',
    "}",
    "export {};",
  );
  return lines.join("\n");
}

/** Generic exported types take their parameters through (`StreamHandler<P>`). */
function genericParams(name: string): string {
  const count = typeParameterCount(name);
  return count === 0 ? "" : `<${Array.from({ length: count }, (_, i) => `T${i}${constraints.get(name)?.[i] ?? ""} = any`).join(", ")}>`;
}
function genericArgs(name: string): string {
  const count = typeParameterCount(name);
  return count === 0 ? "" : `<${Array.from({ length: count }, (_, i) => `T${i}`).join(", ")}>`;
}
const counts = new Map<string, number>();
const constraints = new Map<string, string[]>();
function typeParameterCount(name: string): number {
  if (counts.size === 0) {
    for (const { file } of entries) {
      const source = program.getSourceFile(file)!;
      for (const symbol of checker.getExportsOfModule(checker.getSymbolAtLocation(source)!)) {
        const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
        const declaration = target.declarations?.find((d) => ts.isInterfaceDeclaration(d) || ts.isTypeAliasDeclaration(d) || ts.isClassDeclaration(d));
        const params = declaration && "typeParameters" in declaration ? (declaration.typeParameters as ts.NodeArray<ts.TypeParameterDeclaration> | undefined) : undefined;
        counts.set(symbol.name, params?.length ?? 0);
        constraints.set(
          symbol.name,
          (params ?? []).map((p) => (p.constraint ? ` extends ${p.constraint.getText()}` : "")),
        );
      }
    }
  }
  return counts.get(name) ?? 0;
}

/** The ```ts blocks of every `@example` tag on the exports' declarations. */
function examples(): Array<{ where: string; code: string }> {
  const found: Array<{ where: string; code: string }> = [];
  const seen = new Set<ts.Node>();
  const visitDeclaration = (declaration: ts.Declaration) => {
    for (const doc of ts.getJSDocCommentsAndTags(declaration)) {
      if (!ts.isJSDoc(doc) || seen.has(doc)) continue;
      seen.add(doc);
      for (const tag of doc.tags ?? []) {
        if (tag.tagName.text !== "example") continue;
        const text = typeof tag.comment === "string" ? tag.comment : (ts.getTextOfJSDocComment(tag.comment) ?? "");
        const source = declaration.getSourceFile();
        const where = `${relative(ROOT, source.fileName)}:${source.getLineAndCharacterOfPosition(tag.getStart()).line + 1}`;
        for (const match of text.matchAll(/```ts\s*\n([\s\S]*?)```/g)) found.push({ where, code: match[1] ?? "" });
      }
    }
  };
  for (const { file } of entries) {
    const source = program.getSourceFile(file)!;
    for (const symbol of checker.getExportsOfModule(checker.getSymbolAtLocation(source)!)) {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      for (const declaration of target.declarations ?? []) visitDeclaration(declaration);
    }
  }
  return found;
}

describe("the @example blocks of every export", () => {
  const blocks = examples();

  it("finds them", () => {
    expect(blocks.length).toBeGreaterThan(100);
  });

  it("compile against the packages' sources", () => {
    const files = new Map<string, string>([
      [join(ROOT, "doc-examples.prelude.ts"), prelude()],
      // Examples show pino as the logger; it is not a dependency of the workspace.
      [join(ROOT, "doc-examples.ambient.d.ts"), 'declare module "pino" {\n  const pino: () => import("@tako/core").Logger;\n  export default pino;\n}\n'],
    ]);
    for (const [i, block] of blocks.entries()) files.set(join(ROOT, `doc-example-${i}.ts`), `// ${block.where}\nexport {};\n${block.code}`);
    const report = checkInMemory(files, options).map((d) => {
      if (d.file === undefined) return ts.flattenDiagnosticMessageText(d.messageText, " ");
      const text = d.file.text;
      const where = text.slice(3, text.indexOf("\n"));
      const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
      return `${where} (+${line - 1}): ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`;
    });
    expect(report).toEqual([]);
  });
});
