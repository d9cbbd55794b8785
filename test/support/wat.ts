// Compiles the resampler's kernel (src/audio/fir-kernel.wat) with wabt and writes the embedded module,
// src/audio/fir-kernel.bytes.ts. `bun run wasm` after editing the .wat; test/audio/fir-kernel.test.ts fails while
// the embedded bytes differ from what the .wat compiles to.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import wabtInit from "wabt";

const AUDIO = join(import.meta.dir, "../../src/audio");
export const WAT_PATH = join(AUDIO, "fir-kernel.wat");
export const BYTES_PATH = join(AUDIO, "fir-kernel.bytes.ts");

export async function compileWat(path = WAT_PATH): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const mod = wabt.parseWat(path, readFileSync(path, "utf8"), { simd: true });
  try {
    mod.validate();
    return Uint8Array.from(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}

export function bytesModule(wasm: Uint8Array): string {
  const b64 = Buffer.from(wasm).toString("base64");
  return (
    "// Generated from fir-kernel.wat by `bun run wasm` (test/support/wat.ts). Do not edit.\n" +
    `export const FIR_KERNEL_WASM = "${b64}";\n`
  );
}

if (import.meta.main) {
  const wasm = await compileWat();
  writeFileSync(BYTES_PATH, bytesModule(wasm));
  console.log(`wrote ${BYTES_PATH} (${wasm.length} bytes of WebAssembly)`);
}
