// Every check of the suite, in the order they run and appear in the README matrix.
import type { Check } from "../check.ts";
import { checks as fd } from "./fd.ts";
import { checks as framing } from "./framing.ts";
import { checks as peercred } from "./peercred.ts";
import { checks as proxy } from "./proxy.ts";
import { checks as tcp } from "./tcp.ts";
import { checks as udp } from "./udp.ts";
import { checks as unixHttp } from "./unix-http.ts";
import { checks as unix } from "./unix.ts";

export const CHECKS: readonly Check[] = [...tcp, ...udp, ...unix, ...peercred, ...unixHttp, ...framing, ...proxy, ...fd];
