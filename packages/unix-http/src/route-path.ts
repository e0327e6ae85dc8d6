import { InvalidRouteError } from "./errors.ts";

/** A route path translated from Tako syntax to rou3's pattern syntax. */
export interface TranslatedPath {
  /** The rou3 pattern, e.g. `/users/:id` or `/files/:rest(.*)`. */
  readonly pattern: string;
  /** The name of the trailing `{*rest}` parameter, if any. */
  readonly catchAll: string | undefined;
}

const IDENT_START = /[A-Za-z_]/;
const IDENT_CHAR = /[A-Za-z0-9_]/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Characters rou3 gives a meaning to; in Tako syntax they are literal, so they are escaped. */
const ROU3_SPECIAL = new Set(["*", "(", ")", "+", "\\", "?"]);
const RESERVED_NAMES = new Set(["__proto__", "constructor", "prototype"]);

/** Whether `text` has a C0 control character or DEL. */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * Translates a Tako route path to a rou3 pattern:
 * - `{name}` and `:name` capture one path segment (or part of one: `/{id}.json`);
 * - `{*rest}`, only as the last segment, captures the rest of the path, at least one character,
 *   slashes included (as the Rust original's matchit does);
 * - `{{` and `}}` are literal braces; every other character is literal (rou3's own operators
 *   `* ( ) + ? \` are escaped).
 * Throws {@link InvalidRouteError} for anything else.
 */
export function translatePath(path: string): TranslatedPath {
  if (typeof path !== "string") throw new InvalidRouteError(`a route path must be a string; got ${typeof path}`);
  if (!path.startsWith("/")) throw new InvalidRouteError(`route path ${JSON.stringify(path)} must start with "/"`);
  if (/[?#]/.test(path)) throw new InvalidRouteError(`route path ${JSON.stringify(path)} contains "?" or "#": routes match the path only, never the query`);
  if (hasControlCharacter(path)) throw new InvalidRouteError(`route path ${JSON.stringify(path)} contains a control character`);
  let out = "";
  const names: string[] = [];
  let catchAll: string | undefined;
  /** Whether the last thing emitted was a parameter (so a following name character must be escaped). */
  let afterParam = false;
  const addName = (name: string) => {
    if (!IDENT.test(name)) {
      throw new InvalidRouteError(`invalid parameter name ${JSON.stringify(name)} in ${JSON.stringify(path)}: use letters, digits and "_", not starting with a digit`);
    }
    if (RESERVED_NAMES.has(name)) throw new InvalidRouteError(`parameter name ${JSON.stringify(name)} is reserved (in ${JSON.stringify(path)})`);
    if (names.includes(name)) throw new InvalidRouteError(`parameter ${JSON.stringify(name)} appears twice in ${JSON.stringify(path)}`);
    if (afterParam) {
      throw new InvalidRouteError(`parameters must be separated by literal text in ${JSON.stringify(path)} (two parameters in a row are ambiguous)`);
    }
    names.push(name);
  };
  let i = 0;
  while (i < path.length) {
    const c = path[i] as string;
    const next = path[i + 1];
    if (c === "{" && next === "{") {
      out += "\\{";
      afterParam = false;
      i += 2;
    } else if (c === "}" && next === "}") {
      out += "\\}";
      afterParam = false;
      i += 2;
    } else if (c === "{") {
      const close = path.indexOf("}", i + 1);
      if (close < 0) throw new InvalidRouteError(`unclosed "{" in route path ${JSON.stringify(path)}`);
      const inner = path.slice(i + 1, close);
      if (inner.startsWith("*")) {
        const name = inner.slice(1);
        if (path[i - 1] !== "/" || close !== path.length - 1) {
          throw new InvalidRouteError(`catch-all {*${name}} must be the whole last segment of ${JSON.stringify(path)}`);
        }
        addName(name);
        catchAll = name;
        out += `:${name}(.*)`;
      } else {
        addName(inner);
        out += `:${inner}`;
      }
      afterParam = true;
      i = close + 1;
    } else if (c === "}") {
      throw new InvalidRouteError(`unmatched "}" in route path ${JSON.stringify(path)} (write "}}" for a literal brace)`);
    } else if (c === ":" && next !== undefined && IDENT_START.test(next)) {
      let end = i + 1;
      while (end < path.length && IDENT_CHAR.test(path[end] as string)) end++;
      const name = path.slice(i + 1, end);
      addName(name);
      out += `:${name}`;
      afterParam = true;
      i = end;
    } else {
      if (c === ":" || ROU3_SPECIAL.has(c) || (afterParam && IDENT_CHAR.test(c))) out += `\\${c}`;
      else out += c;
      afterParam = false;
      i++;
    }
  }
  return { pattern: out, catchAll };
}

type IdentChar =
  | "a"
  | "b"
  | "c"
  | "d"
  | "e"
  | "f"
  | "g"
  | "h"
  | "i"
  | "j"
  | "k"
  | "l"
  | "m"
  | "n"
  | "o"
  | "p"
  | "q"
  | "r"
  | "s"
  | "t"
  | "u"
  | "v"
  | "w"
  | "x"
  | "y"
  | "z"
  | "A"
  | "B"
  | "C"
  | "D"
  | "E"
  | "F"
  | "G"
  | "H"
  | "I"
  | "J"
  | "K"
  | "L"
  | "M"
  | "N"
  | "O"
  | "P"
  | "Q"
  | "R"
  | "S"
  | "T"
  | "U"
  | "V"
  | "W"
  | "X"
  | "Y"
  | "Z"
  | "0"
  | "1"
  | "2"
  | "3"
  | "4"
  | "5"
  | "6"
  | "7"
  | "8"
  | "9"
  | "_";

type NameRun<S extends string, Acc extends string = ""> = S extends `${infer C}${infer Rest}` ? (C extends IdentChar ? NameRun<Rest, `${Acc}${C}`> : Acc) : Acc;

type ColonNames<P extends string> = P extends `${string}:${infer Rest}` ? (NameRun<Rest> extends "" ? ColonNames<Rest> : NameRun<Rest> | ColonNames<Rest>) : never;

type BraceNames<P extends string> = P extends `${infer Before}{${infer Inner}}${infer Rest}`
  ? Inner extends `{${string}` | ""
    ? ColonNames<Before> | BraceNames<Rest>
    : ColonNames<Before> | (Inner extends `*${infer Name}` ? Name : Inner) | BraceNames<Rest>
  : ColonNames<P>;

/**
 * The parameter names of a Tako route path, as a union: `"id" | "rest"` for
 * `"/users/{id}/files/{*rest}"`.
 *
 * @example
 * ```ts
 * type Names = ParamNames<"/users/:id/{tab}">; // "id" | "tab"
 * ```
 */
export type ParamNames<P extends string> = BraceNames<P>;

/**
 * The `ctx.params` type of a route path: one string per parameter; `Record<string, string>` when
 * the path is not a literal type.
 *
 * @example
 * ```ts
 * type P = PathParams<"/users/{id}">; // { readonly id: string }
 * ```
 */
export type PathParams<P extends string> = string extends P ? Readonly<Record<string, string>> : { readonly [K in ParamNames<P>]: string };
