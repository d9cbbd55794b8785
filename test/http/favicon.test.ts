// /favicon.ico, which every browser asks for on every console page, is served (a small SVG in the binary).
import { expect, test } from "bun:test";
import { startHarness } from "../relay/harness.ts";

test("GET /favicon.ico answers an icon, cacheable, with no admin guard", async () => {
  await using h = await startHarness();
  const res = await fetch(`${h.base}/favicon.ico`, { headers: { host: "relay.example.com" } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("image/svg+xml");
  expect(res.headers.get("cache-control")).toContain("max-age=");
  const body = await res.text();
  expect(body).toStartWith("<svg");
  expect(body.length).toBeLessThan(1024);
});
