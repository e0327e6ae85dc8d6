/**
 * Every error Tako throws or rejects with is a `TakoError` with a stable `code`.
 * OS-level failures (bind, listen) keep the operating system's code (`EADDRINUSE`, `EACCES`, ...).
 *
 * @example
 * ```ts
 * try {
 *   await serveTcp("127.0.0.1:80", handler);
 * } catch (err) {
 *   if (err instanceof TakoError && err.code === "EADDRINUSE") console.error("port taken");
 * }
 * ```
 */
export class TakoError extends Error {
  /** A stable, machine-readable code: `ERR_TAKO_*`, or the OS code for a {@link BindError}. */
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * An address that does not parse or a port out of range; thrown before anything is bound.
 *
 * @example
 * ```ts
 * parseAddress("localhost"); // throws InvalidAddressError (code ERR_TAKO_INVALID_ADDRESS)
 * ```
 */
export class InvalidAddressError extends TakoError {
  constructor(message: string, options?: ErrorOptions) {
    super("ERR_TAKO_INVALID_ADDRESS", message, options);
  }
}

/**
 * A config or option that is of the wrong type, out of range, or unknown; the message names the field.
 *
 * @example
 * ```ts
 * validateServerConfig({ drainTimeout: -1 }); // throws InvalidConfigError (ERR_TAKO_INVALID_CONFIG)
 * ```
 */
export class InvalidConfigError extends TakoError {
  /** The option or config field at fault, e.g. `"drainTimeout"`. */
  readonly field: string;

  constructor(field: string, message: string, options?: ErrorOptions) {
    super("ERR_TAKO_INVALID_CONFIG", message, options);
    this.field = field;
  }
}

/**
 * A Unix socket path that cannot be used: empty, a bare `@`, too long, or occupied by something
 * that is not a socket (the message names what was found). Thrown before anything is bound.
 *
 * @example
 * ```ts
 * await serveUnix("@", handler); // rejects with InvalidSocketPathError (ERR_TAKO_INVALID_SOCKET_PATH)
 * ```
 */
export class InvalidSocketPathError extends TakoError {
  constructor(message: string, options?: ErrorOptions) {
    super("ERR_TAKO_INVALID_SOCKET_PATH", message, options);
  }
}

/**
 * A feature the platform or runtime lacks (abstract sockets off Linux, `reusePort` where
 * unsupported, a Bun or Deno gap); see `unsupportedFeature`, which names both.
 *
 * @example
 * ```ts
 * await serveUnix("@admin", handler); // on macOS: rejects with UnsupportedError (ERR_TAKO_UNSUPPORTED)
 * ```
 */
export class UnsupportedError extends TakoError {
  /** The missing feature, e.g. `"reusePort for UDP"`, where the thrower named it. */
  readonly feature: string | undefined;
  /** The runtime that lacks it, e.g. `"Deno 2.9.6"`, where the thrower named it. */
  readonly runtime: string | undefined;

  constructor(message: string, options?: ErrorOptions & { feature?: string; runtime?: string }) {
    super("ERR_TAKO_UNSUPPORTED", message, options);
    this.feature = options?.feature;
    this.runtime = options?.runtime;
  }
}

/**
 * Binding failed at the OS level. `code` is the OS code (`EADDRINUSE`, `EACCES`, ...), the
 * original Node error is the `cause`.
 *
 * @example
 * ```ts
 * await serveTcp(port, handler).catch((err) => err.code); // "EADDRINUSE" when the port is taken
 * ```
 */
export class BindError extends TakoError {
  /** What we tried to bind: `"127.0.0.1:8080"` or a socket path. */
  readonly address: string;
  /** The failing system call, e.g. `"listen"` or `"bind"`. */
  readonly syscall: string | undefined;
  /** The OS error number, where Node reported one. */
  readonly errno: number | undefined;

  constructor(address: string, cause: NodeJS.ErrnoException) {
    const code = cause.code ?? "ERR_TAKO_BIND";
    super(code, `cannot bind ${address}: ${code}${cause.syscall ? ` (${cause.syscall})` : ""}`, { cause });
    this.address = address;
    this.syscall = cause.syscall;
    this.errno = cause.errno;
  }
}

/**
 * Something was used after the server or socket closed, e.g. `sendTo` on a closed UDP socket.
 *
 * @example
 * ```ts
 * await server.shutdown();
 * await socket.sendTo(data, peer); // rejects with ClosedError (ERR_TAKO_CLOSED)
 * ```
 */
export class ClosedError extends TakoError {
  constructor(message: string, options?: ErrorOptions) {
    super("ERR_TAKO_CLOSED", message, options);
  }
}

/**
 * The peer broke the wire protocol: a malformed PROXY header, a frame past its size limit, a
 * stream that ended inside a frame. It is the client's fault, not a server bug: a stream handler
 * that rejects with one has its connection destroyed and counted in `stats().protocolErrors`,
 * logged at debug and published on `tako:protocol-error`, never printed as a handler error.
 * `code` is `ERR_TAKO_PROTOCOL` unless a subclass or the thrower names a finer one
 * (`ERR_TAKO_TRUNCATED_FRAME`, `ERR_TAKO_PROXY_HEADER`, ...).
 *
 * @example
 * ```ts
 * if (!line.startsWith("HELLO ")) throw new ProtocolError(`expected HELLO, got ${JSON.stringify(line.slice(0, 32))}`);
 * throw new ProtocolError("stream ended inside a frame", { code: "ERR_TAKO_TRUNCATED_FRAME" });
 * ```
 */
export class ProtocolError extends TakoError {
  constructor(message: string, options?: ErrorOptions & { code?: string }) {
    super(options?.code ?? "ERR_TAKO_PROTOCOL", message, options);
  }
}

/**
 * A frame (a line, a length-prefixed payload, a netstring) declared or grew past its limit; it is
 * refused before the rest is buffered or anything of the declared size is allocated.
 *
 * @example
 * ```ts
 * try {
 *   for await (const line of lines(socket, { maxLineLength: 1024 })) handle(line);
 * } catch (err) {
 *   if (err instanceof FrameTooLargeError) console.log(err.limit, err.size);
 * }
 * ```
 */
export class FrameTooLargeError extends ProtocolError {
  /** The limit that was passed, in bytes. */
  readonly limit: number;
  /** The declared size, or the bytes seen so far when the size is not declared (a line). */
  readonly size: number;

  constructor(message: string, limit: number, size: number, options?: ErrorOptions) {
    super(message, { ...options, code: "ERR_TAKO_FRAME_TOO_LARGE" });
    this.limit = limit;
    this.size = size;
  }
}

/** Error codes a client going away produces; they are normal, not errors worth reporting. */
const PEER_GONE = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED", "ERR_STREAM_PREMATURE_CLOSE", "ERR_STREAM_DESTROYED", "ECANCELED", "ETIMEDOUT"]);

/**
 * Whether an error only means the peer went away (reset, broken pipe): normal traffic, not a fault.
 *
 * @example
 * ```ts
 * socket.on("error", (err) => { if (!isPeerGone(err)) logger.warn({ err }, "socket error"); });
 * ```
 */
export function isPeerGone(err: unknown): boolean {
  return typeof err === "object" && err !== null && PEER_GONE.has((err as { code?: string }).code ?? "");
}
