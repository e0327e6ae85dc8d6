/**
 * The load-client child: `node src/client-main.ts '{}'`, pinned to its own core by the runner.
 * Answers `echo`, `connRate`, `udp`, `http`, `autocannon`, `fetchOnce`, `hold`, `held`, `waitClosed` and `release`.
 */
import { runAutocannon } from "./clients/autocannon.ts";
import { runConnRate } from "./clients/conn-rate.ts";
import { runEcho } from "./clients/echo.ts";
import { fetchOnce, hold, heldStatus, release, waitClosed } from "./clients/hold.ts";
import { runHttp } from "./clients/http.ts";
import { runUdp } from "./clients/udp.ts";
import { serveCommands } from "./rpc.ts";

serveCommands(
  {
    echo: runEcho,
    connRate: runConnRate,
    udp: runUdp,
    http: runHttp,
    autocannon: runAutocannon,
    hold,
    fetchOnce,
    held: heldStatus,
    waitClosed,
    release,
  },
  { pid: process.pid },
);
