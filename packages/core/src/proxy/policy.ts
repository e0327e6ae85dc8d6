import { checkDuration, checkKnownKeys } from "../check.ts";
import { InvalidConfigError } from "../errors.ts";
import { CidrSet } from "./cidr.ts";
import { DEFAULT_MAX_HEADER_SIZE, DEFAULT_PROXY_TIMEOUT } from "./constants.ts";
import { checkMaxHeaderSize } from "./parse.ts";

/**
 * A validated `proxyProtocol` option: the header `timeout` and `maxHeaderSize`, and who must send
 * a header. `decide(remoteAddress)` says what to do with a new connection: `"require"` (read the
 * header first), `"direct"` (serve as is) or `"reject"` (close at once).
 *
 * @example
 * ```ts
 * const policy = resolveProxyProtocolOption({ trusted: ["10.0.0.0/8"] }, { allowTrusted: true, field: "proxyProtocol" })!;
 * policy.decide("10.1.2.3"); // "require"
 * policy.decide("192.0.2.1"); // "reject"
 * ```
 */
export interface ProxyPolicy {
  /** ms the whole header may take. */
  readonly timeout: number;
  /** Largest v2 header accepted, bytes. */
  readonly maxHeaderSize: number;
  /** Whether every connection must send a header (no `trusted` list): `decide` then ignores the address. */
  readonly everyone: boolean;
  /** What to do with a connection from `remoteAddress` (`undefined` for Unix sockets). */
  decide(remoteAddress: string | undefined): "require" | "direct" | "reject";
}

const KEYS = ["trusted", "untrusted", "timeout", "maxHeaderSize"] as const;
const UNIX_KEYS = ["timeout", "maxHeaderSize"] as const;

function requireAll(): "require" {
  return "require";
}

/**
 * Validates a `proxyProtocol` option and returns its {@link ProxyPolicy}, or `undefined` when it
 * is off (`undefined` / `false`). Accepts `true` or `{ trusted?, untrusted?: "reject" | "direct",
 * timeout? (default 5 000 ms, any positive duration), maxHeaderSize? (default 4 096) }`. Unknown
 * keys, a bad address or CIDR in `trusted`, an empty `trusted` list, `untrusted` without
 * `trusted`, and (with `allowTrusted: false`, for Unix listeners) `trusted` or `untrusted` at all
 * throw {@link InvalidConfigError} naming `field`, before anything is bound.
 *
 * @example
 * ```ts
 * resolveProxyProtocolOption(true, { allowTrusted: true, field: "proxyProtocol" })?.timeout; // 5000
 * resolveProxyProtocolOption({ trusted: ["10.0.0.0/8"] }, { allowTrusted: false, field: "proxyProtocol" }); // throws InvalidConfigError
 * ```
 */
export function resolveProxyProtocolOption(value: unknown, { allowTrusted, field }: { readonly allowTrusted: boolean; readonly field: string }): ProxyPolicy | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { timeout: DEFAULT_PROXY_TIMEOUT, maxHeaderSize: DEFAULT_MAX_HEADER_SIZE, everyone: true, decide: requireAll };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidConfigError(
      field,
      `${field} must be true or an object { ${(allowTrusted ? KEYS : UNIX_KEYS).join(", ")} }; got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`,
    );
  }
  const o = value as Record<string, unknown>;
  if (!allowTrusted && (o.trusted !== undefined || o.untrusted !== undefined)) {
    const key = o.trusted !== undefined ? "trusted" : "untrusted";
    throw new InvalidConfigError(
      `${field}.${key}`,
      `${field}.${key} is for TCP listeners: on a Unix socket the file's permissions decide who may connect, so every connection must send a header (use true or { timeout })`,
    );
  }
  checkKnownKeys(field, o, allowTrusted ? KEYS : UNIX_KEYS);
  let timeout = DEFAULT_PROXY_TIMEOUT;
  if (o.timeout !== undefined) {
    timeout = checkDuration(`${field}.timeout`, o.timeout);
    if (timeout === 0) throw new InvalidConfigError(`${field}.timeout`, `${field}.timeout must be more than 0 ms (the spec asks for at least 3 000)`);
  }
  const maxHeaderSize = o.maxHeaderSize === undefined ? DEFAULT_MAX_HEADER_SIZE : checkMaxHeaderSize(`${field}.maxHeaderSize`, o.maxHeaderSize);
  if (o.untrusted !== undefined && o.untrusted !== "reject" && o.untrusted !== "direct") {
    throw new InvalidConfigError(`${field}.untrusted`, `${field}.untrusted must be "reject" or "direct"; got ${JSON.stringify(o.untrusted)}`);
  }
  if (o.trusted === undefined) {
    if (o.untrusted !== undefined) throw new InvalidConfigError(`${field}.untrusted`, `${field}.untrusted needs a trusted list: without one every connection must send a header`);
    return { timeout, maxHeaderSize, everyone: true, decide: requireAll };
  }
  if (!Array.isArray(o.trusted)) throw new InvalidConfigError(`${field}.trusted`, `${field}.trusted must be an array of IP addresses and CIDRs; got ${typeof o.trusted}`);
  if (o.trusted.length === 0)
    throw new InvalidConfigError(`${field}.trusted`, `${field}.trusted is empty: list the proxies' addresses, or use proxyProtocol: true to require a header from everyone`);
  const trusted = new CidrSet(o.trusted, `${field}.trusted`);
  const otherwise = o.untrusted === "direct" ? "direct" : "reject";
  return {
    timeout,
    maxHeaderSize,
    everyone: false,
    decide: (remoteAddress) => (trusted.has(remoteAddress) ? "require" : otherwise),
  };
}
