// Plain data shapes shared by every user of the core: requests and responses as fields, the
// control flags of a Guardian, and the decision summary. No wasm here.

/** One header line as received: repeated names stay separate entries, in order. */
export type HeaderLine = [name: string, value: string];

/**
 * A response header line whose value may be the bytes as received (the gate passes an upstream's
 * values on without making strings of them); bytes are profiled as they are.
 */
export type ResponseHeaderLine = [name: string, value: string | Uint8Array];

/** A request as the client sent it (SPEC §3 traffic record). */
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

/** The five control flags of a Guardian (SPEC §4.1 fixes 1 and 2 apply to how they are read). */
export interface Control {
  alert: boolean;
  block: boolean;
  learn: boolean;
  force: boolean;
  auto: boolean;
}

/** What an unknown route or parameter name does (docs/routes.md). */
export type NamePolicy = 'alert' | 'ignore' | 'service-wide';

/** A Guardian's route policies and the slack on its learned limits (its control, issue 15). */
export interface RoutePolicy {
  unknownRoute: NamePolicy;
  unknownParam: NamePolicy;
  /** Steps (0–16) every learned limit is widened by when deciding. */
  slack: number;
}

/** The caps learning uses, which the learned criteria records (docs/routes.md). */
export interface LearningCaps {
  /** Query, form and JSON body fields learned by name per table (1–256). */
  params?: number;
  /** Header names learned by name per table (1–256). */
  headers?: number;
  /** Routes in the route table (0–1024; 0: no route table). */
  routes?: number;
  /** Unknown header names: alert (unless over the cap), or judged by the shape of all headers. */
  unknownHeaders?: 'alert' | 'shape';
}

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
