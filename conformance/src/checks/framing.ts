// @tako/framing (DESIGN section 9): bounded lines and length-prefixed frames behind a TCP handler.
import { lengthPrefixed, lines } from "@tako/framing";
import { serveTcp } from "@tako/tcp";
import { assert, assertEqual, until, type Check } from "../check.ts";
import { closedWithin, connectStream } from "../clients.ts";

export const checks: Check[] = [
  {
    id: "framing.line-limit",
    title: "lines(): a line past maxLineLength is a protocol error, counted",
    async run({ defer }) {
      const server = await serveTcp("127.0.0.1:0", async (socket, _peer, ctx) => {
        for await (const line of lines(socket, { maxLineLength: 16, signal: ctx.signal })) socket.write(`echo ${line}\n`);
      });
      defer(() => server.shutdown({ drainTimeout: 0 }));
      const client = await connectStream({ port: server.address.port });
      defer(() => client.socket.destroy());
      client.socket.write("short\n");
      await client.waitFor("echo short\n");
      client.socket.write(`${"x".repeat(64)}\n`);
      assert(await closedWithin(client, 3_000), "the connection is destroyed");
      await until(2_000, "stats().protocolErrors counts it", () => server.stats().protocolErrors === 1);
      assertEqual(server.stats().handlerErrors, 0, "not a handler error");
    },
  },
  {
    id: "framing.length-prefixed-limit",
    title: "lengthPrefixed(): a declared length past maxFrameSize is refused before allocation",
    async run({ defer }) {
      const server = await serveTcp("127.0.0.1:0", async (socket) => {
        for await (const frame of lengthPrefixed(socket, { prefix: "u32be", maxFrameSize: 8 })) socket.write(frame);
      });
      defer(() => server.shutdown({ drainTimeout: 0 }));
      const client = await connectStream({ port: server.address.port });
      defer(() => client.socket.destroy());
      const frame = Buffer.alloc(4 + 2);
      frame.writeUInt32BE(2, 0);
      frame.write("ok", 4);
      client.socket.write(frame);
      await client.waitFor("ok");
      const huge = Buffer.alloc(4);
      huge.writeUInt32BE(0x7fffffff, 0);
      client.socket.write(huge);
      assert(await closedWithin(client, 3_000), "the connection is destroyed");
      await until(2_000, "stats().protocolErrors counts it", () => server.stats().protocolErrors === 1);
    },
  },
];
