// Voice-action XML answers. Attribute values are escaped: the stream URL carries `&` between its query values.

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&apos;",
  );
}

const DECL = '<?xml version="1.0" encoding="UTF-8"?>';

export interface StreamXml {
  name: string;
  url: string;
  callRate: number;
  playbackRate: number;
  statusCallback: string;
}

/** The field-proven <Stream>: connect="true" holds the call, bidirectionalSamplingRate enables playback. */
export function streamXml(s: StreamXml): string {
  return (
    `${DECL}<Response><Stream name="${escapeXml(s.name)}" url="${escapeXml(s.url)}" track="inbound_track" connect="true"` +
    ` outputSamplingRate="${s.callRate}" bidirectionalSamplingRate="${s.playbackRate}"` +
    ` statusCallback="${escapeXml(s.statusCallback)}" statusEvents="stream-started stream-stopped stream-error"/></Response>`
  );
}

export const EMPTY_RESPONSE = `${DECL}<Response/>`;

/** Said when no model session can be had: better a sentence and a hang-up than dead air. */
export function sayHangupXml(text: string): string {
  return `${DECL}<Response><Say>${escapeXml(text)}</Say><Hangup/></Response>`;
}
