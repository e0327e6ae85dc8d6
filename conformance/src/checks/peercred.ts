// Unix peer credentials (branch `peercred`, DESIGN section 12): SO_PEERCRED through the koffi
// backend "where it loads". Pending until UnixPeerAddr has pid/uid/gid on main; to enable, set the
// expectations ("pass" where koffi loads, else the UnsupportedError of peerCredentials: "required").
import { join } from "node:path";
import { serveUnix, UnixPeerAddr } from "@tako/unix";
import { assertEqual, type Check } from "../check.ts";
import { connectStream } from "../clients.ts";

const pending = { waitingFor: "branch peercred (UnixPeerAddr { path, pid, uid, gid })", landed: async () => "pid" in (Reflect.construct(UnixPeerAddr, [null]) as object) };

export const checks: Check[] = [
  {
    id: "unix.peer-credentials",
    title: "Peer credentials (pid, uid, gid) of a Unix client",
    pending,
    async run({ dir, defer }) {
      const path = join(dir, "cred.sock");
      const options = { peerCredentials: "required" } as Parameters<typeof serveUnix>[2];
      const server = await serveUnix(path, (socket, peer) => void socket.end(`${JSON.stringify(peer)}\n`), options);
      defer(() => server.shutdown({ drainTimeout: 0 }));
      const client = await connectStream({ path });
      defer(() => client.socket.destroy());
      await client.waitFor("\n");
      const peer = JSON.parse(client.received()) as { pid: number; uid: number; gid: number };
      assertEqual([peer.pid, peer.uid, peer.gid], [process.pid, process.getuid?.(), process.getgid?.()], "pid, uid, gid");
    },
  },
];
