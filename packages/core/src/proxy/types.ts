import type { SocketAddress } from "../address.ts";

/**
 * The SSL TLV (type 0x20) of a PROXY v2 header: what the proxy learned from the client's TLS
 * connection. `client` is the raw bit field (`PP2_CLIENT_SSL` 0x01, `PP2_CLIENT_CERT_CONN` 0x02,
 * `PP2_CLIENT_CERT_SESS` 0x04); `verified` is true when the proxy verified a client certificate
 * (the spec's `verify` field is 0). Sub-TLVs absent from the header are `null`.
 *
 * @example
 * ```ts
 * const ssl: ProxySsl | null = ctx.proxy?.tlvs.ssl ?? null;
 * if (ssl?.verified) console.log(`client certificate CN=${ssl.cn}, ${ssl.version} ${ssl.cipher}`);
 * ```
 */
export interface ProxySsl {
  /** The client bit field: 0x01 TLS used, 0x02 certificate on this connection, 0x04 certificate on the session. */
  readonly client: number;
  /** Whether a client certificate was presented and verified (the `verify` field is 0). */
  readonly verified: boolean;
  /** TLS version, e.g. `"TLSv1.3"` (sub-TLV 0x21). */
  readonly version: string | null;
  /** The client certificate's Common Name (sub-TLV 0x22). */
  readonly cn: string | null;
  /** The cipher, e.g. `"TLS_AES_256_GCM_SHA384"` (sub-TLV 0x23). */
  readonly cipher: string | null;
  /** The certificate's signature algorithm, e.g. `"SHA256"` (sub-TLV 0x24). */
  readonly sigAlg: string | null;
  /** The certificate's key algorithm, e.g. `"RSA2048"` (sub-TLV 0x25). */
  readonly keyAlg: string | null;
}

/**
 * The TLVs of a PROXY v2 header, the registered ones decoded (`null` when absent; always absent
 * for v1) and every one but NOOP in `raw`, by type (the first of a repeated type wins).
 *
 * @example
 * ```ts
 * const { alpn, authority, uniqueId, raw } = ctx.proxy!.tlvs;
 * const vpce = raw.get(0xea); // AWS VPC endpoint id, a custom TLV
 * ```
 */
export interface ProxyTlvs {
  /** Application protocol the client negotiated, e.g. `"h2"` (type 0x01). */
  readonly alpn: string | null;
  /** The host name the client asked for (TLS SNI), UTF-8 (type 0x02). */
  readonly authority: string | null;
  /** An opaque id of the connection, at most 128 bytes (type 0x05; HAProxy's `unique-id`). */
  readonly uniqueId: Buffer | null;
  /** TLS details of the client connection (type 0x20). */
  readonly ssl: ProxySsl | null;
  /** The network namespace name (type 0x30). */
  readonly netns: string | null;
  /**
   * Every TLV but NOOP, by type, values copied out of the header (CRC32C 0x03 included). A header
   * without TLVs has one shared, frozen `tlvs` object whose map is empty and refuses writes.
   */
  readonly raw: ReadonlyMap<number, Buffer>;
}

/**
 * A parsed PROXY protocol header (v1 or v2). `source` is the client the proxy accepted, and
 * `destination` the address it accepted it on; both are `null` for v1 `UNKNOWN`, v2 `LOCAL`
 * (health checks), and non-IP families (AF_UNIX, UNSPEC). `via` is the real socket peer (the
 * proxy itself): `null` from {@link parseProxyHeader}, the TCP peer when a listener read it, and
 * `null` on Unix sockets (there the handler's `peer` is the real peer).
 *
 * @example
 * ```ts
 * await serveTcp(9001, (socket, peer, ctx) => {
 *   const info: ProxyInfo | undefined = ctx.proxy;
 *   console.log(`client ${peer.address} via ${info?.via?.address}, ALPN ${info?.tlvs.alpn}`);
 * }, { proxyProtocol: { trusted: ["10.0.0.0/8"] } });
 * ```
 */
export interface ProxyInfo {
  /** 1 for the text header, 2 for the binary one. */
  readonly version: 1 | 2;
  /** `"PROXY"` (relayed connection) or `"LOCAL"` (the proxy's own, e.g. a health check; v2 only). */
  readonly command: "PROXY" | "LOCAL";
  /** `"STREAM"` (TCP), `"DGRAM"` (UDP) or `"UNSPEC"` (v1 UNKNOWN, v2 LOCAL or UNSPEC). */
  readonly transport: "STREAM" | "DGRAM" | "UNSPEC";
  /** The original client, or `null` when the header names none. */
  readonly source: SocketAddress | null;
  /** The address the proxy accepted the client on, or `null` when the header names none. */
  readonly destination: SocketAddress | null;
  /** The real socket peer (the proxy), or `null` (parser, Unix sockets). */
  readonly via: SocketAddress | null;
  /** The v2 TLVs (all absent for v1). */
  readonly tlvs: ProxyTlvs;
}

/**
 * What {@link encodeProxyHeader} writes as TLVs (v2 only). Strings are UTF-8 (ALPN is written
 * byte for byte as Latin-1); `crc32c: true` adds a CRC32C TLV computed over the whole header;
 * `noop` adds a NOOP TLV of that many zero bytes (padding); `raw` adds custom TLVs by type.
 *
 * @example
 * ```ts
 * const tlvs: ProxyTlvsInput = { alpn: "h2", authority: "example.com", uniqueId: "req-1", crc32c: true, raw: [[0xea, Buffer.from("vpce-1")]] };
 * ```
 */
export interface ProxyTlvsInput {
  readonly alpn?: string | Uint8Array | undefined;
  readonly authority?: string | undefined;
  readonly uniqueId?: string | Uint8Array | undefined;
  readonly ssl?:
    | {
        readonly client?: number | undefined;
        readonly verified?: boolean | undefined;
        readonly version?: string | undefined;
        readonly cn?: string | undefined;
        readonly cipher?: string | undefined;
        readonly sigAlg?: string | undefined;
        readonly keyAlg?: string | undefined;
      }
    | undefined;
  readonly netns?: string | undefined;
  readonly crc32c?: boolean | undefined;
  readonly noop?: number | undefined;
  readonly raw?: Iterable<readonly [number, Uint8Array]> | undefined;
}

/**
 * An address for {@link encodeProxyHeader}: an IP literal and a port (`family` is derived from
 * the address when omitted).
 *
 * @example
 * ```ts
 * const source: ProxyAddressInput = { address: "203.0.113.7", port: 51234 };
 * ```
 */
export interface ProxyAddressInput {
  readonly address: string;
  readonly port: number;
  readonly family?: "IPv4" | "IPv6" | undefined;
}

/**
 * What {@link encodeProxyHeader} encodes. `source` and `destination` go together (both or
 * neither); neither gives v1 `PROXY UNKNOWN` or a v2 header with the UNSPEC family. Mixed
 * families are written as IPv6 with the IPv4 side v4-mapped, as HAProxy does.
 *
 * @example
 * ```ts
 * const header: ProxyHeaderInput = { version: 2, source: { address: "203.0.113.7", port: 51234 }, destination: { address: "10.0.0.1", port: 443 } };
 * ```
 */
export interface ProxyHeaderInput {
  /** 1 (text) or 2 (binary). */
  readonly version: 1 | 2;
  /** `"PROXY"` (default) or `"LOCAL"` (v2 only: a health check; addresses not allowed). */
  readonly command?: "PROXY" | "LOCAL" | undefined;
  /** v2 only: `"STREAM"` (default) or `"DGRAM"`. */
  readonly transport?: "STREAM" | "DGRAM" | undefined;
  readonly source?: ProxyAddressInput | undefined;
  readonly destination?: ProxyAddressInput | undefined;
  /** v2 only. */
  readonly tlvs?: ProxyTlvsInput | undefined;
}

/**
 * The `proxyProtocol` option of `serveTcp` (and, without `trusted` / `untrusted`, of `serveUnix`
 * and `serveUnixHttp`): `true` requires a PROXY v1 or v2 header from every connection; an object
 * tunes it. Durations are milliseconds.
 *
 * @example
 * ```ts
 * const option: ProxyProtocolOption = { trusted: ["127.0.0.1", "10.0.0.0/8", "::1"], untrusted: "reject", timeout: 5_000 };
 * ```
 */
export type ProxyProtocolOption = boolean | ProxyProtocolOptions;

/**
 * The object form of {@link ProxyProtocolOption}.
 *
 * @example
 * ```ts
 * await serveTcp(9001, handler, { proxyProtocol: { trusted: ["10.0.0.0/8"], untrusted: "direct" } satisfies ProxyProtocolOptions });
 * ```
 */
export interface ProxyProtocolOptions {
  /**
   * The proxies: IP addresses and CIDRs (`"10.0.0.0/8"`, `"fd00::/8"`); an IPv4 entry also
   * matches its v4-mapped IPv6 form (`::ffff:10.1.2.3` on a dual-stack listener). Connections
   * from these must send a header. Omitted: every connection must. TCP only.
   */
  readonly trusted?: readonly string[] | undefined;
  /** What happens to a connection from outside `trusted`: `"reject"` (default: closed at once, counted in `stats().rejected`) or `"direct"` (served as is, no header read, `ctx.proxy` undefined). TCP only. */
  readonly untrusted?: "reject" | "direct" | undefined;
  /** How long a connection has to send its complete header, in ms (any positive duration). Default 5 000. */
  readonly timeout?: number | undefined;
  /** Largest v2 header accepted (16 + its declared length), in bytes, 16 to 65 551. Default 4 096. */
  readonly maxHeaderSize?: number | undefined;
}

/**
 * The `proxyProtocol` option of Unix listeners: `true`, or `{ timeout, maxHeaderSize }` (the
 * socket file's permissions are the trust boundary there, so there is no `trusted` list).
 *
 * @example
 * ```ts
 * await serveUnix("/run/app.sock", handler, { proxyProtocol: { timeout: 3_000 } satisfies UnixProxyProtocolOption });
 * ```
 */
export type UnixProxyProtocolOption = boolean | Pick<ProxyProtocolOptions, "timeout" | "maxHeaderSize">;
