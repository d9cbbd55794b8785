// Counters one Live session keeps across all of its sockets. Plain numbers, bumped on the hot path; read by
// stats() at call end and by metrics.

export function newLiveCounters() {
  return {
    callerChunks: 0,
    framesSent: 0,
    bytesSent: 0,
    droppedClosed: 0,
    bufferedHighWater: 0,
    backpressureEvents: 0,
    connections: 0,
    rotations: 0,
    reconnects: 0,
    overlapFallbacks: 0,
    freshSessions: 0,
    greetings: 0,
    textsSent: 0,
    audioMessages: 0,
    audioBytesReceived: 0,
    badAudio: 0,
    toolCalls: 0,
    toolResponses: 0,
    toolResponsesDeferred: 0,
    toolCancellations: 0,
    /** turnComplete with RESPONSE_REJECTED or MALFORMED_FUNCTION_CALL. */
    rejectedTurns: 0,
    /** serverContent messages carrying groundingMetadata (search grounding). */
    groundings: 0,
    goAways: 0,
    stallResumes: 0,
  };
}

export type LiveCounters = ReturnType<typeof newLiveCounters>;
