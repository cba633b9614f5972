// Plain data shapes shared by every user of the core: requests and responses as fields, the
// control flags of a Guardian, and the decision summary. No wasm here.

/** One header line as received: repeated names stay separate entries, in order. */
export type HeaderLine = [name: string, value: string];

/**
 * A response header line whose value may be the bytes as received (the gate passes an upstream's
 * values on without making strings of them); bytes are profiled as they are.
 */
export type ResponseHeaderLine = [name: string, value: string | Uint8Array];

/** A request as the client sent it (a traffic record's request, README.md). */
export interface HttpRequestFields {
  method: string;
  /** Raw request path, still percent-encoded, without the query string. */
  path: string;
  /** Raw query string without the leading '?'. */
  query?: string;
  /** Protocol string, e.g. "HTTP/1.1" (the default). */
  proto?: string;
  headers: HeaderLine[];
  /** Client address (IP text); appended to X-Forwarded-For as the gate appends its peer. */
  remote?: string;
  /** The body when it was read for analysis (already decompressed); absent = no body analysed. */
  body?: Uint8Array | string;
  /** A body fault instead of a body: TooLargeBody, UnknownSizeBody, FailedUnstructured … */
  bodyFault?: string;
}

export interface HttpResponseFields {
  status: number;
  headers: ResponseHeaderLine[];
  body?: Uint8Array | string;
  bodyFault?: string;
}

/** The five control flags of a Guardian (read with differences 1 and 2 of docs/compatibility.md). */
export interface Control {
  alert: boolean;
  block: boolean;
  learn: boolean;
  force: boolean;
  auto: boolean;
}

/**
 * The largest body analysed by default (the gate's GUARD_MAX_BODY): `guard learn`, `guard check`
 * and guard-ui apply the same, so that what they decide is what the gate decides.
 */
export const DEFAULT_MAX_BODY = 1 << 20;

/** Sections of a session, as a bit set, for deciding one stage at a time. */
export const Section = {
  Req: 1,
  Resp: 2,
  ReqBody: 4,
  RespBody: 8,
  Envelop: 16,
  Pod: 32,
  All: 63,
} as const;
