// The key-value store and its line commands, without any networking: one command per line in,
// one reply line out.
//
//   SET <key> <value>   -> OK                 (value: the rest of the line, may hold spaces)
//   GET <key>           -> VALUE <value> | NIL
//   DEL <key>           -> DELETED 1 | DELETED 0
//   WHO                 -> YOU <client> VIA <proxy> ON <instance>
//   QUIT                -> BYE                (then the server closes the connection)
//   anything else       -> ERR <reason>
//
// Bounded: keys up to MAX_KEY_LENGTH bytes, values up to MAX_VALUE_LENGTH, at most MAX_KEYS keys.

/** The longest key, in bytes. */
export const MAX_KEY_LENGTH = 250;
/** The longest value, in bytes. */
export const MAX_VALUE_LENGTH = 1024;
/** The most keys one instance holds. */
export const MAX_KEYS = 10_000;
/** The longest command line (SET, a key, a value and the spaces between). */
export const MAX_LINE_LENGTH = 4 + MAX_KEY_LENGTH + 1 + MAX_VALUE_LENGTH;

/** What a command asks the connection to do after its reply line. */
export interface Reply {
  readonly line: string;
  /** The connection ends after this reply (QUIT). */
  readonly close: boolean;
}

/** Who is on the other end, as the connection knows it. */
export interface Caller {
  /** The client, as the PROXY header names it (or the socket peer when served directly). */
  readonly client: string;
  /** The proxy the connection came through, or "direct". */
  readonly via: string;
}

const KEY = /^[!-~]+$/; // printable ASCII, no spaces

/** An in-memory store with a bounded number of keys. */
export class Store {
  readonly #map = new Map<string, string>();
  readonly #instance: string;

  constructor(instance: string) {
    this.#instance = instance;
  }

  /** Keys held now. */
  get size(): number {
    return this.#map.size;
  }

  /** Runs one command line and returns its reply. */
  execute(line: string, caller: Caller): Reply {
    const space = line.indexOf(" ");
    const verb = (space === -1 ? line : line.slice(0, space)).toUpperCase();
    const rest = space === -1 ? "" : line.slice(space + 1);
    switch (verb) {
      case "SET": {
        const sep = rest.indexOf(" ");
        if (sep === -1) return err("usage: SET <key> <value>");
        const key = rest.slice(0, sep);
        const value = rest.slice(sep + 1);
        const bad = checkKey(key) ?? (Buffer.byteLength(value) > MAX_VALUE_LENGTH ? `value longer than ${MAX_VALUE_LENGTH} bytes` : undefined);
        if (bad !== undefined) return err(bad);
        if (!this.#map.has(key) && this.#map.size >= MAX_KEYS) return err(`store full (${MAX_KEYS} keys)`);
        this.#map.set(key, value);
        return ok("OK");
      }
      case "GET": {
        const bad = checkKey(rest);
        if (bad !== undefined) return err(bad);
        const value = this.#map.get(rest);
        return ok(value === undefined ? "NIL" : `VALUE ${value}`);
      }
      case "DEL": {
        const bad = checkKey(rest);
        if (bad !== undefined) return err(bad);
        return ok(`DELETED ${this.#map.delete(rest) ? 1 : 0}`);
      }
      case "WHO":
        return ok(`YOU ${caller.client} VIA ${caller.via} ON ${this.#instance}`);
      case "QUIT":
        return { line: "BYE", close: true };
      case "":
        return err("empty line");
      default:
        return err(`unknown command ${JSON.stringify(verb.slice(0, 16))}`);
    }
  }
}

function checkKey(key: string): string | undefined {
  if (key === "") return "missing key";
  if (Buffer.byteLength(key) > MAX_KEY_LENGTH) return `key longer than ${MAX_KEY_LENGTH} bytes`;
  if (!KEY.test(key)) return "a key is printable ASCII without spaces";
  return undefined;
}

function ok(line: string): Reply {
  return { line, close: false };
}

function err(reason: string): Reply {
  return { line: `ERR ${reason}`, close: false };
}
