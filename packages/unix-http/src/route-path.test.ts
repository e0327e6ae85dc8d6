import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidRouteError, Router } from "@tako/unix-http";
import { translatePath } from "./route-path.ts";

describe("translatePath", () => {
  it.each([
    ["/", "/"],
    ["/users/{id}", "/users/:id"],
    ["/users/:id", "/users/:id"],
    ["/users/{id}/posts/:post", "/users/:id/posts/:post"],
    ["/files/{*rest}", "/files/:rest(.*)"],
    ["/{id}.json", "/:id.json"],
    ["/{id}abc", "/:id\\abc"],
    ["/a:b/c", "/a:b/c"],
    ["/x/1:2", "/x/1\\:2"],
    ["/{{literal}}", "/\\{literal\\}"],
    ["/a*b(c)+", "/a\\*b\\(c\\)\\+"],
  ])("%s -> %s", (path, pattern) => {
    expect(translatePath(path).pattern).toBe(pattern);
  });

  it("knows the catch-all's name", () => {
    expect(translatePath("/files/{*rest}").catchAll).toBe("rest");
    expect(translatePath("/files/{rest}").catchAll).toBeUndefined();
  });

  it.each([
    ["users", /must start with "\/"/],
    ["/a?b", /query/],
    ["/a#b", /query/],
    ["/a\tb", /control character/],
    ["/{id", /unclosed/],
    ["/id}", /unmatched/],
    ["/{}", /invalid parameter name/],
    ["/{1x}", /invalid parameter name/],
    ["/{a-b}", /invalid parameter name/],
    ["/{__proto__}", /reserved/],
    ["/{a}/{a}", /twice/],
    ["/{a}:b", /separated by literal text/],
    ["/{a}{b}", /separated by literal text/],
    ["/files/{*rest}/more", /whole last segment/],
    ["/files-{*rest}", /whole last segment/],
  ])("rejects %s", (path, message) => {
    expect(() => translatePath(path)).toThrow(InvalidRouteError);
    expect(() => translatePath(path)).toThrow(message);
  });

  it("rejects a path that is not a string", () => {
    expect(() => translatePath(42 as unknown as string)).toThrow(InvalidRouteError);
  });
});

/** A segment of a route template: literal text or a parameter slot. */
type Part = { kind: "static"; text: string } | { kind: "param"; name: string };

const identifier = fc.stringMatching(/^[a-z_][a-z0-9_]{0,5}$/).filter((n) => !["__proto__", "constructor", "prototype"].includes(n));
const literal = fc.stringMatching(/^[a-z0-9._~-]{1,6}$/).filter((t) => t !== "." && t !== "..");
const template = fc
  .array(
    fc.oneof(
      literal.map((text): Part => ({ kind: "static", text })),
      identifier.map((name): Part => ({ kind: "param", name })),
    ),
    { minLength: 1, maxLength: 5 },
  )
  .filter((parts) => {
    const names = parts.flatMap((p) => (p.kind === "param" ? [p.name] : []));
    return new Set(names).size === names.length;
  });
/** A request path: either filled from the template, or arbitrary segments. */
const segmentValue = fc.oneof(
  fc.stringMatching(/^[a-zA-Z0-9._~-]{1,8}$/).filter((v) => v !== "." && v !== ".."),
  fc.constantFrom("%20", "a%2Fb", "%E2%9C%93", "%zz", "caf%C3%A9"),
);

function render(parts: Part[], style: "brace" | "colon"): string {
  return `/${parts.map((p) => (p.kind === "static" ? p.text : style === "brace" ? `{${p.name}}` : `:${p.name}`)).join("/")}`;
}

async function outcome(router: Router, path: string): Promise<string> {
  const res = await router.fetch(new Request(`http://localhost${path}`));
  return `${res.status} ${await res.text()}`;
}

describe("route syntax (property)", () => {
  it("a route with {name} and the same route with :name match the same paths with the same params", async () => {
    await fc.assert(
      fc.asyncProperty(template, fc.array(segmentValue, { minLength: 0, maxLength: 6 }), fc.boolean(), async (parts, values, fromTemplate) => {
        const brace = new Router();
        const colon = new Router();
        const answer = (_req: Request, ctx: { params: Readonly<Record<string, string>> }) => ctx.params;
        brace.get(render(parts, "brace"), answer);
        colon.get(render(parts, "colon"), answer);
        let i = 0;
        const path = fromTemplate ? `/${parts.map((p) => (p.kind === "static" ? p.text : (values[i++] ?? "v"))).join("/")}` : `/${values.join("/")}`;
        const [a, b] = await Promise.all([outcome(brace, path), outcome(colon, path)]);
        expect(a).toBe(b);
        if (fromTemplate && !values.some((v) => v === "%zz")) expect(a.startsWith("200 ")).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe("parameter types", () => {
  it("ctx.params is typed from the path", async () => {
    const { expectTypeOf } = await import("vitest");
    const router = new Router();
    router.get("/users/{id}/files/{*rest}", (_req, ctx) => {
      expectTypeOf(ctx.params).toEqualTypeOf<{ readonly id: string; readonly rest: string }>();
      return `${ctx.params.id}:${ctx.params.rest}`;
    });
    router.get("/a/:first/b/{second}.json", (_req, ctx) => {
      expectTypeOf(ctx.params).toEqualTypeOf<{ readonly first: string; readonly second: string }>();
      return ctx.params.first + ctx.params.second;
    });
    const dynamic: string = "/x/{y}";
    router.get(dynamic, (_req, ctx) => {
      expectTypeOf(ctx.params).toEqualTypeOf<Readonly<Record<string, string>>>();
      return "x";
    });
    expect(await (await router.fetch(new Request("http://localhost/users/7/files/a/b"))).text()).toBe("7:a/b");
    expect(await (await router.fetch(new Request("http://localhost/a/1/b/2.json"))).text()).toBe("12");
  });
});
