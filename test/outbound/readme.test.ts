// The README's outbound example is the one in examples/, and it works: the agents file loads (the outbound agent
// places calls only, with voicemail and opt_out), the CSV is read as the README says (one number merged), and a
// call to that agent needs exactly the variables the CSV has.
import { describe, expect, test } from "bun:test";
import { requiredVariables } from "../../src/agents/variables.ts";
import { loadAgentsFile } from "../../src/agents/load.ts";
import { NumberRouter } from "../../src/agents/router.ts";
import { fromCsv } from "../../src/outbound/campaign-input.ts";

const root = new URL("../..", import.meta.url).pathname;
const readme = await Bun.file(`${root}README.md`).text();
const section = readme.slice(readme.indexOf("## Outbound calls and campaigns"), readme.indexOf("## Call records"));
const opts = { env: {}, defaults: { model: "gemini-3.8-live", voice: "Kore", greeting: "", maxCallSeconds: 900 }, toolSigningSecret: undefined };

describe("README: outbound calls and campaigns", () => {
  test("the agents file is examples/outbound.yaml, and it loads", async () => {
    const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    const file = `${root}examples/outbound.yaml`;
    expect(Bun.YAML.parse(block!)).toEqual(Bun.YAML.parse(await Bun.file(file).text()));
    const list = loadAgentsFile(file, opts);
    const r = new NumberRouter(list);
    expect(r.route("+254733000000")).toBeUndefined(); // no default agent: reminders only places calls
    const rem = list.find((e) => e.agent.name === "reminders")!;
    expect(rem.numbers).toEqual([]);
    expect(rem.agent.tools.map((t) => t.declaration.name)).toEqual(["end_call", "voicemail", "opt_out"]);
    expect(requiredVariables(rem.agent).sort()).toEqual(["day", "name", "time"]);
  });

  test("the CSV is examples/reminders.csv: three contacts, one number merged, nothing refused", async () => {
    const block = /```csv\n([\s\S]*?)```/.exec(section)?.[1];
    const text = await Bun.file(`${root}examples/reminders.csv`).text();
    expect(block).toBe(text);
    const agents = loadAgentsFile(`${root}examples/outbound.yaml`, opts).map((e) => e.agent);
    const i = fromCsv(text, { name: "Monday deliveries", agent: "reminders" }, agents, "Africa/Nairobi", Date.now());
    expect(i.contacts).toHaveLength(3);
    expect(i.merged).toEqual([{ to: "+254712345678", rows: [1, 4] }]);
    expect(i.refused).toEqual([]);
    expect(section).toContain('[{"to":"+254712345678","rows":[1,4]}]');
  });
});
