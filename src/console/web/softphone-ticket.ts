// What POST /api/softphone answers: the page that places a browser call owns this shape; the relay's console API
// (src/console/api.ts) builds it. Types only, so both the browser build and the relay can import it.

/** A new browser call: where its audio socket is and the rates to speak on it. */
export interface SoftphoneTicket {
  /** The one-use socket URL, relative to the console's origin. */
  url: string;
  callId: string;
  agent: string;
  /** ISO 8601; the URL is refused after this. */
  expiresAt: string;
  /** Hz of the PCM the page sends. */
  inputRate: number;
  /** Hz of the PCM the relay sends back. */
  outputRate: number;
}
