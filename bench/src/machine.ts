/** What the results name about the machine they were measured on. */
import * as os from "node:os";
import { hasTaskset, softFdLimit } from "./rpc.ts";

/** The machine and runtime a run happened on. */
export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly v8: string;
  /** Whether servers and clients were pinned to separate cores with taskset. */
  readonly pinned: boolean;
  readonly serverCore: number | null;
  readonly clientCore: number | null;
  readonly fdLimit: number;
}

/** Collects {@link MachineInfo} for this machine. */
export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  const pinned = hasTaskset() && cpus.length >= 2;
  return {
    cpus: cpus.length,
    cpuModel: (cpus[0]?.model ?? "unknown").trim(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    pinned,
    serverCore: pinned ? 0 : null,
    clientCore: pinned ? 1 : null,
    fdLimit: softFdLimit(),
  };
}
