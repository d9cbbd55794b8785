// A tool's parameter schema that cannot be used, named by its place in the agents file
// (`agents[0].tools[1].parameters.properties.when.oneOf`) so the loader can refuse it with exit code 2.

export class ToolSchemaError extends Error {
  constructor(
    /** Where in the agents file, in the loader's path style. */
    readonly path: string,
    /** What is wrong there, for a person fixing the file. */
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

/** "agents[0].tools[1].parameters" + ["properties", "first-name", 0] → `…parameters.properties["first-name"][0]`. */
export function schemaPath(base: string, keys: ReadonlyArray<string | number>): string {
  let out = base;
  for (const k of keys) {
    if (typeof k === "number") out += `[${k}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(k)) out += (out === "" ? "" : ".") + k;
    else out += `[${JSON.stringify(k)}]`;
  }
  return out;
}
