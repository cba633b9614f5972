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

/** What an unknown route or parameter name does (docs/routes.md). */
export type NamePolicy = 'alert' | 'ignore' | 'service-wide';

/** A Guardian's route policies and the slack on its learned limits (its control, docs/routes.md). */
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

/** What guard-service and `guard learn` learn with unless configured (docs/routes.md). */
export const DEFAULT_LEARNING_CAPS: Readonly<Required<LearningCaps>> = Object.freeze({ params: 64, headers: 64, routes: 256, unknownHeaders: 'alert' });

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
