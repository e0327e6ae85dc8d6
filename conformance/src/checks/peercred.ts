// Unix peer credentials (DESIGN section 12): SO_PEERCRED through the koffi backend, "required", so
// a runtime where koffi does not load must answer with the UnsupportedError naming it (koffi loads
// on Node, Bun and Deno with --allow-ffi today).
import { join } from "node:path";
import { serveUnix } from "@tako/unix";
import { assertEqual, type Check } from "../check.ts";
import { connectStream } from "../clients.ts";

export const checks: Check[] = [
  {
    id: "unix.peer-credentials",
    title: "Peer credentials (pid, uid, gid) of a Unix client",
    async run({ dir, defer }) {
      const path = join(dir, "cred.sock");
      const server = await serveUnix(path, (socket, peer) => void socket.end(`${JSON.stringify(peer)}\n`), { peerCredentials: "required" });
      defer(() => server.shutdown({ drainTimeout: 0 }));
      const client = await connectStream({ path });
      defer(() => client.socket.destroy());
      await client.waitFor("\n");
      const peer = JSON.parse(client.received()) as { pid: number; uid: number; gid: number };
      assertEqual([peer.pid, peer.uid, peer.gid], [process.pid, process.getuid?.(), process.getgid?.()], "pid, uid, gid");
    },
  },
];
