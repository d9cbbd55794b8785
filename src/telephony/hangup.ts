// Closing the audio socket does not end a <Stream connect="true"> call: the caller would sit on dead air
// (docs/sautikit-stream.md#hanging-up). The REST hang-up is the only reliable way to end it.
import type { Logger } from "../log.ts";

export interface HangupOptions {
  apiUrl: string;
  apiKey: string;
  timeoutMs?: number;
}

export async function hangupCall(o: HangupOptions, callId: string, log: Logger): Promise<boolean> {
  const url = `${o.apiUrl}/v1/calls/${encodeURIComponent(callId)}/hangup`;
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: {
        authorization: `Bearer ${o.apiKey}`,
        "content-type": "application/json",
        "idempotency-key": `hangup-${callId}`,
      },
      body: "{}",
      signal: AbortSignal.timeout(o.timeoutMs ?? 5000),
    });
    if (!res.ok) {
      log.error({ status: res.status, body: (await res.text()).slice(0, 300) }, "sautikit hang-up refused");
      return false;
    }
    log.info("call hung up via sautikit REST API");
    return true;
  } catch (err) {
    log.error({ err: String(err) }, "sautikit hang-up failed");
    return false;
  }
}
