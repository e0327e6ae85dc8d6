/**
 * A class used as an {@link Extensions} key; the value stored under it is an instance of it.
 *
 * @example
 * ```ts
 * const key: ExtensionKey<UnixPeerAddr> = UnixPeerAddr;
 * ```
 */
// biome-ignore lint/suspicious/noExplicitAny: constructor parameters of a key class are irrelevant.
export type ExtensionKey<T> = abstract new (...args: any[]) => T;

/**
 * Per-request values keyed by class, as Rust's request extensions are keyed by type:
 * `ctx.extensions.get(UnixPeerAddr)` is the connection's peer; middleware can `set` its own
 * (a session, a user) for the handlers after it.
 *
 * @example
 * ```ts
 * class User {
 *   readonly name: string;
 *   constructor(name: string) {
 *     this.name = name;
 *   }
 * }
 * router.use(async (req, ctx, next) => {
 *   ctx.extensions.set(User, new User("ada"));
 *   return next();
 * });
 * router.get("/me", (req, ctx) => ctx.extensions.get(User)?.name ?? "nobody");
 * ```
 */
export class Extensions {
  readonly #values = new Map<ExtensionKey<unknown>, unknown>();

  /** Creates a map holding `entries`, e.g. `[[UnixPeerAddr, peer]]`. */
  constructor(entries?: Iterable<readonly [ExtensionKey<unknown>, unknown]>) {
    if (entries) for (const [key, value] of entries) this.#values.set(key, value);
  }

  /** The value stored under `key`, or `undefined`. */
  get<T>(key: ExtensionKey<T>): T | undefined {
    return this.#values.get(key) as T | undefined;
  }

  /** Stores `value` under `key`, replacing what was there. */
  set<T>(key: ExtensionKey<T>, value: T): this {
    this.#values.set(key, value);
    return this;
  }

  /** Whether a value is stored under `key`. */
  has(key: ExtensionKey<unknown>): boolean {
    return this.#values.has(key);
  }

  /** Removes the value under `key`; true if there was one. */
  delete(key: ExtensionKey<unknown>): boolean {
    return this.#values.delete(key);
  }

  /** How many values are stored. */
  get size(): number {
    return this.#values.size;
  }
}
