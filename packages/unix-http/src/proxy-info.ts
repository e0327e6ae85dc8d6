import type { ProxyInfo as CoreProxyInfo } from "@tako/core";
import type { ExtensionKey } from "./extensions.ts";

/**
 * The PROXY header of a connection (`serveUnixHttp(path, router, { proxyProtocol: true })`): the
 * TCP client, the proxy's address and the TLVs (`@tako/core`'s `ProxyInfo`). As a value it is the
 * key under which `ctx.extensions` holds it, as `UnixPeerAddr` is the peer's key; `ctx.proxy` is
 * the same object.
 *
 * @example
 * ```ts
 * router.get("/client", (req, ctx) => {
 *   const info: ProxyInfo | undefined = ctx.extensions.get(ProxyInfo); // === ctx.proxy
 *   return { client: info?.source?.address ?? null, alpn: info?.tlvs.alpn ?? null };
 * });
 * ```
 */
export type ProxyInfo = CoreProxyInfo;

/** The `ctx.extensions` key of the connection's {@link ProxyInfo} (never instantiated). */
export const ProxyInfo: ExtensionKey<CoreProxyInfo> = class ProxyInfo {
  private constructor() {}
} as unknown as ExtensionKey<CoreProxyInfo>;

const headers = new WeakMap<object, CoreProxyInfo>();

/** @internal Remembers the PROXY header read from `socket`. */
export function rememberProxyInfo(socket: object, info: CoreProxyInfo): void {
  headers.set(socket, info);
}

/** @internal The PROXY header read from `socket`, if any. */
export function proxyInfoOf(socket: object | undefined): CoreProxyInfo | undefined {
  return socket === undefined ? undefined : headers.get(socket);
}
