// The console's stylesheet is one file for every page, so one unclosed block silently swallows every rule after
// it (CSS closes it at the end of the file without an error): the tools and campaigns pages once lost their
// layout that way. Every block must close where it should: braces balance and never go below zero, comments and
// strings aside, and no rule is nested inside another except in an at-rule.
import { expect, test } from "bun:test";

test("console.css: every block is closed, and rules nest only inside at-rules", async () => {
  const css = await Bun.file(new URL("../../src/console/web/console.css", import.meta.url)).text();
  const text = css.replace(/\/\*[\s\S]*?\*\//g, "").replace(/"[^"]*"|'[^']*'/g, '""');
  const stack: string[] = [];
  let start = 0;
  const problems: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "{") {
      const selector = text.slice(start, i).trim();
      if (stack.length > 0 && !stack[stack.length - 1]!.startsWith("@")) problems.push(`"${selector}" is inside "${stack[stack.length - 1]}"`);
      stack.push(selector);
      start = i + 1;
    } else if (ch === "}") {
      if (stack.pop() === undefined) problems.push(`a "}" closes nothing at offset ${i}`);
      start = i + 1;
    } else if (ch === ";") start = i + 1;
  }
  if (stack.length > 0) problems.push(`not closed: ${stack.map((s) => `"${s}"`).join(", ")}`);
  expect(problems).toEqual([]);
});
