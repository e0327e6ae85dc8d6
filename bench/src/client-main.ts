/**
 * The load-client child: `node src/client-main.ts '{}'`, pinned to its own core by the runner.
 * Answers `echo`, `connRate`, `framing`, `udp`, `http`, `h2c`, `wsEcho`, `autocannon`, `fetchOnce`, `hold`, `held`, `waitClosed` and `release`.
 */
import { runAutocannon } from "./clients/autocannon.ts";
import { runConnRate } from "./clients/conn-rate.ts";
import { runEcho } from "./clients/echo.ts";
import { runFraming } from "./clients/framing.ts";
import { fetchOnce, hold, heldStatus, release, waitClosed } from "./clients/hold.ts";
import { runHttp } from "./clients/http.ts";
import { runUdp } from "./clients/udp.ts";
import { runH2c, runWsEcho } from "./clients/upgrade.ts";
import { serveCommands } from "./rpc.ts";

serveCommands(
  {
    echo: runEcho,
    connRate: runConnRate,
    framing: runFraming,
    udp: runUdp,
    http: runHttp,
    h2c: runH2c,
    wsEcho: runWsEcho,
    autocannon: runAutocannon,
    hold,
    fetchOnce,
    held: heldStatus,
    waitClosed,
    release,
  },
  { pid: process.pid },
);
