// PROXY protocol v1/v2 (DESIGN section 10) on serveTcp and serveUnix: headers from the package's own
// encoder (the real senders, HAProxy / nginx / curl, are covered by the e2e tests under Node).
import { join } from "node:path";
import { encodeProxyHeader } from "@tako/core";
import { serveTcp } from "@tako/tcp";
import { serveUnix } from "@tako/unix";
import { assert, assertEqual, until, type Check } from "../check.ts";
import { closedWithin, connectStream } from "../clients.ts";

const source = { address: "203.0.113.7", port: 4242, family: "IPv4" } as const;
const destination = { address: "198.51.100.1", port: 443, family: "IPv4" } as const;

export const checks: Check[] = [
  {
    id: "proxy.tcp-v2",
    title: "PROXY v2 on TCP: the header's client is the peer, the bytes after it intact",
    async run({ defer }) {
      const server = await serveTcp(
        "127.0.0.1:0",
        async (socket, peer, ctx) => {
          socket.setEncoding("utf8");
          for await (const chunk of socket) {
            socket.end(`${peer.address}:${peer.port} v${ctx.proxy?.version} ${chunk as string}`);
            return;
          }
        },
        { proxyProtocol: true },
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
    async run({ dir, defer }) {
      const path = join(dir, "proxy.sock");
      const server = await serveUnix(
        path,
        async (socket, _peer, ctx) => {
          socket.end(`${ctx.proxy?.source?.address} v${ctx.proxy?.version}\n`);
        },
        { proxyProtocol: true },
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
    async run({ defer }) {
      let called = false;
      const server = await serveTcp("127.0.0.1:0", () => void (called = true), { proxyProtocol: true });
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
