import { isIP, type Socket } from "node:net";
import { InvalidAddressError } from "./errors.ts";

/**
 * A bound or peer socket address for TCP and UDP, as Node reports it.
 *
 * @example
 * ```ts
 * const server = await serveTcp("127.0.0.1:0", handler);
 * const { address, port, family }: SocketAddress = server.address; // "127.0.0.1", 41234, "IPv4"
 * ```
 */
export interface SocketAddress {
  /** The IP address, e.g. `"127.0.0.1"` or `"::1"`. */
  readonly address: string;
  /** The port number. */
  readonly port: number;
  /** `"IPv4"` or `"IPv6"`. */
  readonly family: "IPv4" | "IPv6";
}

/**
 * What `serveTcp` and `serveUdp` accept as an address: `"host:port"`, `"[::1]:port"`, a port, or `{ host, port }`.
 *
 * @example
 * ```ts
 * const addresses: AddressInput[] = ["127.0.0.1:9001", "[::1]:9001", 9001, { host: "::1", port: 0 }];
 * ```
 */
export type AddressInput = string | number | { readonly host?: string; readonly port: number };

/**
 * A parsed, validated listen address.
 *
 * @example
 * ```ts
 * const { host, port }: ListenAddress = parseAddress("[::1]:8080"); // "::1", 8080
 * ```
 */
export interface ListenAddress {
  /** Host name or IP literal without brackets, e.g. `"127.0.0.1"`, `"::1"`, `"localhost"`. */
  readonly host: string;
  /** Port, 0 to 65535 (0 asks the OS for a free port). */
  readonly port: number;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const PORT = /^\d{1,5}$/;
const DEFAULT_HOST = "0.0.0.0";

function checkPort(port: number, input: unknown): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidAddressError(`port out of range in ${JSON.stringify(input)}: expected an integer from 0 to 65535`);
  }
  return port;
}

function checkHost(host: string, input: unknown): string {
  if (isIP(host) !== 0 || HOSTNAME.test(host)) return host;
  throw new InvalidAddressError(`invalid host in address ${JSON.stringify(input)}`);
}

/**
 * Parses a TCP/UDP listen address. Throws {@link InvalidAddressError} for anything malformed:
 * no port, a port out of range, an unbracketed IPv6 literal with a port, junk.
 * A bare port number binds all IPv4 interfaces (`0.0.0.0`).
 *
 * @example
 * ```ts
 * parseAddress("127.0.0.1:9000"); // { host: "127.0.0.1", port: 9000 }
 * parseAddress("[::1]:0");        // { host: "::1", port: 0 }
 * parseAddress(8080);             // { host: "0.0.0.0", port: 8080 }
 * ```
 */
export function parseAddress(input: AddressInput): ListenAddress {
  if (typeof input === "number") return { host: DEFAULT_HOST, port: checkPort(input, input) };
  if (typeof input === "object" && input !== null) {
    const host = input.host ?? DEFAULT_HOST;
    if (typeof host !== "string") throw new InvalidAddressError(`invalid host in address ${JSON.stringify(input)}`);
    if (typeof input.port !== "number") throw new InvalidAddressError(`missing port in address ${JSON.stringify(input)}`);
    const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
    return { host: checkHost(bare, input), port: checkPort(input.port, input) };
  }
  if (typeof input !== "string") {
    throw new InvalidAddressError(`expected an address string, port number or { host, port }, got ${typeof input}`);
  }
  const text = input.trim();
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0 || text[close + 1] !== ":") {
      throw new InvalidAddressError(`invalid address ${JSON.stringify(input)}: expected "[ipv6]:port"`);
    }
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (isIP(host) !== 6) throw new InvalidAddressError(`invalid IPv6 address in ${JSON.stringify(input)}`);
  } else if (PORT.test(text)) {
    host = DEFAULT_HOST;
    portText = text;
  } else {
    const colon = text.lastIndexOf(":");
    if (colon < 0) throw new InvalidAddressError(`missing port in address ${JSON.stringify(input)}: expected "host:port"`);
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(":")) {
      throw new InvalidAddressError(`invalid address ${JSON.stringify(input)}: put IPv6 addresses in brackets, "[::1]:port"`);
    }
    if (host === "") throw new InvalidAddressError(`missing host in address ${JSON.stringify(input)}`);
    checkHost(host, input);
  }
  if (!PORT.test(portText)) throw new InvalidAddressError(`invalid port in address ${JSON.stringify(input)}`);
  return { host, port: checkPort(Number(portText), input) };
}

/**
 * Formats an address as `host:port`, bracketing IPv6 literals; the inverse of {@link parseAddress}.
 *
 * @example
 * ```ts
 * formatAddress({ host: "::1", port: 80 }); // "[::1]:80"
 * ```
 */
export function formatAddress(address: { readonly host?: string; readonly address?: string; readonly port: number }): string {
  const host = address.host ?? address.address ?? DEFAULT_HOST;
  return isIP(host) === 6 ? `[${host}]:${address.port}` : `${host}:${address.port}`;
}

/**
 * Normalises what Node reports for a bound or peer address into a {@link SocketAddress}.
 *
 * @example
 * ```ts
 * toSocketAddress(server.address() as AddressInfo); // { address: "127.0.0.1", port: 41234, family: "IPv4" }
 * ```
 */
export function toSocketAddress(info: { address?: string | undefined; port?: number | undefined; family?: string | number | undefined }): SocketAddress {
  const address = info.address ?? "";
  return { address, port: info.port ?? 0, family: familyOf(address, info.family) };
}

/** The family as a SocketAddress names it: what Node said (a name or, on older lines, a number), else the address's own. */
function familyOf(address: string, family: string | number | undefined): "IPv4" | "IPv6" {
  return family === "IPv6" || family === 6 || isIP(address) === 6 ? "IPv6" : "IPv4";
}

interface PeerNameHandle {
  getpeername?: (out: { address: string; port: number; family: string | number }) => number;
}

/**
 * The remote address of a connected TCP socket, read once from the kernel into the returned
 * object. Where Node's handle has `getpeername` (Node's TCP sockets) it is called directly, so
 * `socket.remoteAddress`'s per-socket cache is not built as well (one object per connection, not
 * two: 56 B less per idle connection); elsewhere (Bun, Deno, a socket without a handle) it is
 * `socket.remoteAddress` and friends. A socket that has lost its peer (reset right after accept)
 * gives `{ address: "", port: 0, family: "IPv4" }`, as {@link toSocketAddress} of nothing does.
 * Consecutive peers from the same address share its string (behind a proxy, every connection).
 *
 * @example
 * ```ts
 * net.createServer((socket) => {
 *   const peer = peerAddressOf(socket); // { address: "127.0.0.1", port: 51234, family: "IPv4" }
 * });
 * ```
 */
export function peerAddressOf(socket: Socket): SocketAddress {
  const handle = (socket as unknown as { _handle?: PeerNameHandle | null })._handle;
  if (typeof handle?.getpeername !== "function") {
    return toSocketAddress({ address: socket.remoteAddress, port: socket.remotePort, family: socket.remoteFamily });
  }
  // Pre-shaped: Node sets these three keys on the object it is given, in place.
  const out: { address: string; port: number; family: string | number } = { address: "", port: 0, family: "IPv4" };
  if (handle.getpeername(out) !== 0) return { address: "", port: 0, family: "IPv4" };
  if (out.family !== "IPv4") out.family = familyOf(out.address, out.family);
  // Connections from one address (a proxy in front, a local client) share one string.
  if (out.address === lastPeerAddress) out.address = lastPeerAddress;
  else lastPeerAddress = out.address;
  return out as SocketAddress;
}

/** The address string of the last peer read: the next peer from the same address reuses it. */
let lastPeerAddress = "";
