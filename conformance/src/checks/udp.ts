// @tako/udp: echo, the bound on in-flight handlers, reusePort.
import { serveUdp } from "@tako/udp";
import { assert, assertEqual, sleep, until, type Check } from "../check.ts";
import { udpClient } from "../clients.ts";

export const checks: Check[] = [
  {
    id: "udp.echo",
    title: "UDP echo, drain report",
    async run({ defer }) {
      const server = await serveUdp("127.0.0.1:0", async (data, peer, socket) => {
        await socket.sendTo(Buffer.concat([Buffer.from("echo "), data]), peer);
      });
      defer(() => server.shutdown({ drainTimeout: 0 }));
      const client = await udpClient();
      defer(() => client.close());
      await client.send("hello", server.address.port);
      await until(3_000, "the echo arrives", () => client.messages.includes("echo hello"));
      const report = await server.shutdown();
      assertEqual(report.forced, 0, "forced");
    },
  },
  {
    id: "udp.in-flight-bound",
    title: "UDP maxInFlight: datagrams past the bound are dropped and counted",
    async run({ defer }) {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      defer(() => release());
      const server = await serveUdp("127.0.0.1:0", () => gate, { maxInFlight: 2 });
      defer(() => server.shutdown({ drainTimeout: 0 }));
      const client = await udpClient();
      defer(() => client.close());
      for (let i = 0; i < 6; i++) await client.send(`d${i}`, server.address.port);
      await until(3_000, "all six datagrams are accounted for", () => {
        const s = server.stats();
        return s.accepted + s.dropped === 6;
      });
      const s = server.stats();
      assertEqual({ active: s.active, accepted: s.accepted, dropped: s.dropped }, { active: 2, accepted: 2, dropped: 4 }, "stats");
      release();
      await until(2_000, "handlers finish", () => server.stats().active === 0);
      await client.send("again", server.address.port);
      await until(2_000, "a datagram after the burst is served", () => server.stats().accepted === 3);
      await sleep(0);
      assert(server.stats().dropped === 4, "nothing more dropped");
    },
  },
  {
    id: "udp.reuse-port",
    title: "UDP reusePort: two servers share one port",
    async run({ defer }) {
      const hits = { a: 0, b: 0 };
      const a = await serveUdp("127.0.0.1:0", () => void hits.a++, { reusePort: true });
      defer(() => a.shutdown({ drainTimeout: 0 }));
      const b = await serveUdp(`127.0.0.1:${a.address.port}`, () => void hits.b++, { reusePort: true });
      defer(() => b.shutdown({ drainTimeout: 0 }));
      // The kernel balances by the sender's address: use a fresh client socket per datagram.
      for (let i = 0; i < 64 && (hits.a === 0 || hits.b === 0); i++) {
        const client = await udpClient();
        await client.send("x", a.address.port);
        client.close();
        await sleep(2);
      }
      await until(2_000, `both servers received datagrams (${JSON.stringify(hits)})`, () => hits.a > 0 && hits.b > 0);
    },
  },
];
