import { createSocket, type Socket, type SocketOptions } from "node:dgram";
import { BindError, InvalidConfigError, type FdAddress } from "@tako/core";
import { checkListenFd } from "@tako/core/listener";
import type { ServeUdpOptions } from "./options.ts";

/**
 * Adopts an inherited UDP socket (systemd `ListenDatagram=`, `systemd-socket-activate -d`): checks
 * the fd is a UDP socket (else `InvalidAddressError` naming what it is), creates the dgram socket
 * of the fd's family (read from the kernel; IPv4 where it cannot be read) and wraps the fd with
 * `bind({ fd })`. Options that only apply when Tako creates the socket are refused. The one place
 * the UDP listener adopts an fd.
 */
export async function bindInheritedUdp(input: FdAddress, options: ServeUdpOptions | undefined, lookup: SocketOptions["lookup"]): Promise<Socket> {
  for (const field of ["reusePort", "ipv6Only"] as const) {
    if (options?.[field]) {
      throw new InvalidConfigError(field, `${field} does not apply to an inherited socket (fd ${input.fd}): whoever created it set its options`);
    }
  }
  const info = checkListenFd(input, "udp", "serveUdp");
  const socket = createSocket({ type: info.family === "IPv6" ? "udp6" : "udp4", lookup });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      socket.off("listening", onListening);
      reject(new BindError(`fd ${info.fd}`, error));
    };
    const onListening = () => {
      socket.off("error", onError);
      resolve();
    };
    socket.once("error", onError);
    socket.once("listening", onListening);
    try {
      socket.bind({ fd: info.fd });
    } catch (error) {
      onError(error as NodeJS.ErrnoException);
    }
  });
  return socket;
}
