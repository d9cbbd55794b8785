// What a call id may look like. It comes from the webhook body (Sautikit's `sessionId`, shaped `HD_…`, or a
// UUID; docs/sautikit-stream.md#voice-webhook) and goes into the stream URL, the REST hang-up path and every log
// line of the call, so it is bounded and limited to characters that need no escaping in any of them.

export const CALL_ID_MAX = 128;
const SAFE = /^[A-Za-z0-9][A-Za-z0-9._:@+=-]*$/;

export function isSafeCallId(id: string): boolean {
  return id.length <= CALL_ID_MAX && SAFE.test(id);
}
