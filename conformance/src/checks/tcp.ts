// @tako/tcp: echo, the drain report, connection caps (queue and reject), the idle timeout.
import { serveTcp } from "@tako/tcp";
import { assert, assertEqual, until, type Check } from "../check.ts";
import { closedWithin, connectStream } from "../clients.ts";

/** A line echo that stops at a message boundary when the drain starts. */
async function lineEcho(socket: import("node:net").Socket, _peer: unknown, ctx: { signal: AbortSignal }): Promise<void> {
  socket.setEncoding("utf8");
  for await (const chunk of socket) {
    socket.write(`echo ${chunk as string}`);
    if (ctx.signal.aborted) {
      socket.write("bye\n");
      return;
    }
  }
}

export const checks: Check[] = [
  {
    id: "tcp.echo-drain",
    title: "TCP echo, drain of a live connection, report",
    async run({ defer }) {
      const server = await serveTcp("127.0.0.1:0", lineEcho, { drainTimeout: 5_000 });
      defer(() => server.shutdown({ drainTimeout: 0 }));
      assert(server.address.port > 0, `bound to an ephemeral port (${JSON.stringify(server.address)})`);
      const client = await connectStream({ port: server.address.port });
      defer(() => client.socket.destroy());
      client.socket.write("hello\n");
      await client.waitFor("echo hello\n");
      assertEqual(server.stats().active, 1, "active connections");
      const shutdown = server.shutdown();
      client.socket.write("last\n"); // the handler sees the aborted signal at the next message
      await client.waitFor("bye\n");
      const report = await shutdown;
      assertEqual({ drained: report.drained, forced: report.forced }, { drained: 1, forced: 0 }, "drain report");
      assertEqual(await server.finished, report, "server.finished is the shutdown report");
      const refused = await connectStream({ port: server.address.port }).then(
        (c) => (c.socket.destroy(), false),
        () => true,
      );
      assert(refused, "a new client is refused after shutdown");
    },
  },
  {
    id: "tcp.peer",
    title: "TCP handler's peer: the client's own address and port",
    async run({ defer }) {
      let seen: unknown;
      const server = await serveTcp("127.0.0.1:0", (socket, peer) => {
        seen = peer;
        socket.end("ok\n");
      });
      defer(() => server.shutdown({ drainTimeout: 0 }));
      const client = await connectStream({ port: server.address.port });
      defer(() => client.socket.destroy());
      await client.waitFor("ok\n");
      assertEqual(seen, { address: "127.0.0.1", port: client.socket.localPort, family: "IPv4" }, "peer");
    },
  },
  {
    id: "tcp.cap-queue",
    title: "TCP maxConnections, queue policy: the extra client waits for a slot",
    async run({ defer }) {
      const server = await serveTcp("127.0.0.1:0", lineEcho, { maxConnections: 1, onMaxConnections: "queue" });
      defer(() => server.shutdown({ drainTimeout: 0 }));
      const first = await connectStream({ port: server.address.port });
      defer(() => first.socket.destroy());
      first.socket.write("one\n");
      await first.waitFor("echo one\n");
      const second = await connectStream({ port: server.address.port });
      defer(() => second.socket.destroy());
      second.socket.write("two\n");
      assert(!(await closedWithin(second, 200)), "the queued client stays connected");
      assertEqual(second.received(), "", "the queued client is not served while the slot is taken");
      first.socket.end();
      await second.waitFor("echo two\n");
      assertEqual(server.stats().rejected, 0, "rejected");
    },
  },
  {
    id: "tcp.cap-reject",
    title: "TCP maxConnections, reject policy: the extra client is closed and counted",
    async run({ defer }) {
      const server = await serveTcp("127.0.0.1:0", lineEcho, { maxConnections: 1, onMaxConnections: "reject" });
      defer(() => server.shutdown({ drainTimeout: 0 }));
      const first = await connectStream({ port: server.address.port });
      defer(() => first.socket.destroy());
      first.socket.write("one\n");
      await first.waitFor("echo one\n");
      const second = await connectStream({ port: server.address.port });
      defer(() => second.socket.destroy());
      assert(await closedWithin(second, 3_000), "the extra client is closed at once");
      await until(2_000, "stats().rejected counts it", () => server.stats().rejected === 1);
      first.socket.write("still\n");
      await first.waitFor("echo still\n");
    },
  },
  {
    id: "tcp.idle-timeout",
    title: "TCP idleTimeout closes a silent connection, keeps a talking one",
    async run({ defer }) {
      const server = await serveTcp("127.0.0.1:0", lineEcho, { idleTimeout: 300 });
      defer(() => server.shutdown({ drainTimeout: 0 }));
      const idle = await connectStream({ port: server.address.port });
      defer(() => idle.socket.destroy());
      const talking = await connectStream({ port: server.address.port });
      defer(() => talking.socket.destroy());
      const started = Date.now();
      const timer = setInterval(() => talking.socket.write("ping\n"), 50);
      defer(() => clearInterval(timer));
      assert(await closedWithin(idle, 5_000), "the silent connection is closed");
      const after = Date.now() - started;
      assert(after >= 250, `closed after the timeout, not before (${after} ms)`);
      assert(!talking.socket.destroyed, "the talking connection is still open");
      await until(2_000, "the connection record is deleted", () => server.stats().active === 1);
    },
  },
  {
    id: "tcp.reuse-port",
    title: "TCP reusePort: two servers share one port",
    async run({ defer }) {
      const a = await serveTcp("127.0.0.1:0", (s) => void s.end("a\n"), { reusePort: true });
      defer(() => a.shutdown({ drainTimeout: 0 }));
      const b = await serveTcp(`127.0.0.1:${a.address.port}`, (s) => void s.end("b\n"), { reusePort: true });
      defer(() => b.shutdown({ drainTimeout: 0 }));
      const seen = new Set<string>();
      for (let i = 0; i < 64 && seen.size < 2; i++) {
        const c = await connectStream({ port: a.address.port });
        await c.closed;
        seen.add(c.received());
      }
      assertEqual([...seen].sort(), ["a\n", "b\n"], "both servers answered");
    },
  },
];
