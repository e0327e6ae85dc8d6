import { checkFunction } from "@tako/core/listener";
import { addRoute, compareRoutes, createRouter, findAllRoutes, routeNodeKeys, type RouterContext } from "rou3";
import { compileRouter } from "rou3/compiler";
import { DuplicateRouteError, InvalidRouteError } from "./errors.ts";
import type { Handler, Middleware } from "./handler.ts";
import { translatePath } from "./route-path.ts";

/** HTTP method token (RFC 9110). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const NO_MIDDLEWARE: readonly Middleware[] = Object.freeze([]);

/**
 * A registered route, returned by `router.route()`, the method helpers and `router.ws()`, so
 * middleware can be attached to it alone.
 *
 * @example
 * ```ts
 * router.get("/admin", adminPage).use(requireLogin);
 * ```
 */
export class Route {
  /** The method, upper-case, or `"*"` for `router.all`. */
  readonly method: string;
  /** The path as registered. */
  readonly path: string;
  /** @internal */
  readonly handler: Handler;
  /** @internal The `{*rest}` parameter's name, if the route has one. */
  readonly catchAll: string | undefined;
  readonly #middleware: Middleware[] = [];
  #chain: readonly Middleware[] = NO_MIDDLEWARE;
  #chainVersion = -1;

  /** @internal */
  constructor(method: string, path: string, handler: Handler, catchAll: string | undefined) {
    this.method = method;
    this.path = path;
    this.handler = handler;
    this.catchAll = catchAll;
  }

  /** Adds middleware that runs for this route only, after the global ones, in the order added. */
  use(...middleware: Middleware[]): this {
    for (const mw of middleware) {
      checkFunction("middleware", mw);
      this.#middleware.push(mw);
    }
    this.#chainVersion = -1;
    return this;
  }

  /** @internal The global middleware followed by the route's, cached until either changes. */
  chain(global: readonly Middleware[], version: number): readonly Middleware[] {
    if (this.#chainVersion !== version) {
      this.#chain = global.length + this.#middleware.length === 0 ? NO_MIDDLEWARE : [...global, ...this.#middleware];
      this.#chainVersion = version;
    }
    return this.#chain;
  }
}

/** @internal A route found for a request, with its raw (still percent-encoded) parameters. */
export type Match = { readonly data: Route; readonly params?: Record<string, string> };
type Finder = (method: string, path: string) => Match | undefined;

/**
 * @internal The route table behind a Router: registration (with the duplicate check), matching
 * by method and path (rou3, compiled on first lookup), and the methods a path allows. HEAD is
 * matched here, once: a HEAD route if there is one, else the GET route.
 */
export class RouteTable {
  readonly #routes: RouterContext<Route> = createRouter<Route>();
  /** Every route under the method `""`, to list the methods a path allows. */
  readonly #paths: RouterContext<Route> = createRouter<Route>();
  /** Registered patterns per method and rou3 node, for the duplicate check. */
  readonly #registered = new Map<string, string[]>();
  readonly #methods = new Set<string>();
  #find: Finder | undefined;
  #hasHeadRoutes = false;

  /** Registers a route; throws {@link InvalidRouteError} or {@link DuplicateRouteError}. */
  add(method: string, path: string, handler: Handler): Route {
    if (typeof method !== "string" || (method !== "*" && !TOKEN.test(method))) {
      throw new InvalidRouteError(`invalid HTTP method ${JSON.stringify(method)}`);
    }
    if (typeof handler !== "function") throw new InvalidRouteError(`the handler for ${method} ${String(path)} must be a function`);
    const upper = method.toUpperCase();
    const translated = translatePath(path);
    const rouMethod = upper === "*" ? "" : upper;
    let nodeKeys: string[];
    try {
      nodeKeys = routeNodeKeys(translated.pattern);
    } catch (error) {
      throw new InvalidRouteError(`invalid route path ${JSON.stringify(path)}: ${(error as Error).message}`, { cause: error });
    }
    for (const key of nodeKeys) {
      const same = this.#registered.get(`${rouMethod} ${key}`)?.find((other) => compareRoutes(other, translated.pattern) === "equal");
      if (same !== undefined) {
        throw new DuplicateRouteError(`${upper === "*" ? "ALL" : upper} ${path} is already registered (as a path matching the same requests)`);
      }
    }
    const route = new Route(upper, path, handler, translated.catchAll);
    try {
      addRoute(this.#routes, rouMethod, translated.pattern, route);
    } catch (error) {
      throw new InvalidRouteError(`invalid route path ${JSON.stringify(path)}: ${(error as Error).message}`, { cause: error });
    }
    addRoute(this.#paths, "", translated.pattern, route);
    for (const key of nodeKeys) {
      const slot = `${rouMethod} ${key}`;
      const list = this.#registered.get(slot);
      if (list) list.push(translated.pattern);
      else this.#registered.set(slot, [translated.pattern]);
    }
    if (upper === "HEAD") this.#hasHeadRoutes = true;
    this.#methods.add(upper);
    this.#find = undefined;
    return route;
  }

  /** The route for `method` and the raw `path`, HEAD falling back to GET. */
  match(method: string, path: string): Match | undefined {
    if (method === "HEAD") {
      if (this.#hasHeadRoutes) {
        const head = this.#lookup("HEAD", path);
        if (head !== undefined && head.data.method === "HEAD") return head;
        return this.#lookup("GET", path) ?? head;
      }
      return this.#lookup("GET", path);
    }
    return this.#lookup(method, path);
  }

  /** The methods some route on `path` answers, with HEAD (when GET is there) and OPTIONS; empty for an unknown path. */
  allowed(path: string): string[] {
    const methods = new Set<string>();
    for (const match of findAllRoutes(this.#paths, "", path)) {
      const route = match.data;
      if (route.catchAll !== undefined && !match.params?.[route.catchAll]) continue;
      methods.add(route.method);
    }
    if (methods.size === 0) return [];
    return withHeadAndOptions(methods);
  }

  /** Every method any route answers (for `OPTIONS *`). */
  methods(): string[] {
    return withHeadAndOptions(new Set(this.#methods));
  }

  #lookup(method: string, path: string): Match | undefined {
    const find = (this.#find ??= compileRouter(this.#routes) as Finder);
    const match = find(method, path);
    if (match === undefined || match.data.catchAll === undefined || match.params?.[match.data.catchAll]) return match;
    // A {*rest} needs at least one character; look for the next best route that fits.
    const all = findAllRoutes(this.#routes, method, path);
    for (let i = all.length - 1; i >= 0; i--) {
      const candidate = all[i] as Match;
      if (candidate.data.catchAll === undefined || candidate.params?.[candidate.data.catchAll]) return candidate;
    }
    return undefined;
  }
}

function withHeadAndOptions(methods: Set<string>): string[] {
  if (methods.has("GET")) methods.add("HEAD");
  methods.add("OPTIONS");
  methods.delete("*");
  return [...methods].sort();
}
