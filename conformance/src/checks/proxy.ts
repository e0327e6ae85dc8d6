// PROXY protocol v1/v2 (branch `proxy`, DESIGN section 10) on serveTcp and serveUnix. Pending until
// encodeProxyHeader is exported by @tako/core on main; to enable, set the expectations to "pass".
import { join } from "node:path";
import * as core from "@tako/core";
import { serveTcp } from "@tako/tcp";
import { serveUnix } from "@tako/unix";
import { assert, assertEqual, until, type Check } from "../check.ts";
import { closedWithin, connectStream } from "../clients.ts";

type Address = { address: string; port: number; family: string };
type Encode = (header: { version: 1 | 2; source?: Address; destination?: Address }) => Uint8Array;
const encodeProxyHeader = (header: Parameters<Encode>[0]): Uint8Array => (core as unknown as { encodeProxyHeader: Encode }).encodeProxyHeader(header);
const pending = { waitingFor: "branch proxy (encodeProxyHeader, proxyProtocol option)", landed: async () => typeof (core as Record<string, unknown>)["encodeProxyHeader"] === "function" };

const source = { address: "203.0.113.7", port: 4242, family: "IPv4" };
const destination = { address: "198.51.100.1", port: 443, family: "IPv4" };
type ProxyCtx = { proxy?: { version: number; source: Address | null } };

export const checks: Check[] = [
  {
    id: "proxy.tcp-v2",
    title: "PROXY v2 on TCP: the header's client is the peer, the bytes after it intact",
    pending,
    async run({ defer }) {
      const options = { proxyProtocol: true } as Parameters<typeof serveTcp>[2];
      const server = await serveTcp(
        "127.0.0.1:0",
        async (socket, peer, ctx) => {
          socket.setEncoding("utf8");
          for await (const chunk of socket) {
            socket.end(`${peer.address}:${peer.port} v${(ctx as ProxyCtx).proxy?.version} ${chunk as string}`);
            return;
          }
        },
        options,
      );
      defer(() => server.shutdown({ drainTimeout: 0 }));
      const client = await connectStream({ port: server.address.port });
      defer(() => client.socket.destroy());
      client.socket.write(Buffer.concat([encodeProxyHeader({ version: 2, source, destination }), Buffer.from("hello\n")]));
      await client.waitFor("203.0.113.7:4242 v2 hello\n");
    },
  },
  {
    id: "proxy.unix-v1",
    title: "PROXY v1 on a Unix socket: ctx.proxy carries the client",
    pending,
    async run({ dir, defer }) {
      const path = join(dir, "proxy.sock");
      const options = { proxyProtocol: true } as Parameters<typeof serveUnix>[2];
      const server = await serveUnix(
        path,
        async (socket, _peer, ctx) => {
          const proxy = (ctx as ProxyCtx).proxy;
          socket.end(`${proxy?.source?.address} v${proxy?.version}\n`);
        },
        options,
      );
      defer(() => server.shutdown({ drainTimeout: 0 }));
      const client = await connectStream({ path });
      defer(() => client.socket.destroy());
      client.socket.write(encodeProxyHeader({ version: 1, source, destination }));
      await client.waitFor("203.0.113.7 v1\n");
    },
  },
  {
    id: "proxy.malformed",
    title: "A malformed PROXY header: destroyed, counted, handler never called",
    pending,
    async run({ defer }) {
      let called = false;
      const options = { proxyProtocol: true } as Parameters<typeof serveTcp>[2];
      const server = await serveTcp("127.0.0.1:0", () => void (called = true), options);
      defer(() => server.shutdown({ drainTimeout: 0 }));
      const client = await connectStream({ port: server.address.port });
      defer(() => client.socket.destroy());
      client.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      assert(await closedWithin(client, 3_000), "the connection is destroyed");
      await until(2_000, "stats().protocolErrors counts it", () => server.stats().protocolErrors === 1);
      assertEqual(called, false, "handler called");
    },
  },
];
