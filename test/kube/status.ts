// Kubernetes `Status` failures as values: every error the stand-in answers is one of these, with the
// HTTP code, the reason and the message shapes the real API server uses.

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'Invalid'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout'
  | '';

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: Array<{ reason?: string; message: string; field?: string }>;
}

export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

const reasonByCode: Record<number, StatusReason> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Gone',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export function reasonForCode(code: number): StatusReason {
  return reasonByCode[code] ?? '';
}

export class KubeStatusError extends Error {
  readonly code: number;
  readonly reason: StatusReason;
  readonly details: StatusDetails | undefined;

  constructor(code: number, reason: StatusReason, message: string, details?: StatusDetails) {
    super(message);
    this.name = 'KubeStatusError';
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  toStatus(): KubeStatus {
    const status: KubeStatus = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) status.details = this.details;
    return status;
  }
}

/** What the API server calls a resource in messages: `configmaps`, `guardians.guard.security.knative.dev`. */
export interface GroupResource {
  group: string;
  resource: string;
}

function qualified(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
}

export const statusErrors = {
  notFound: (gr: GroupResource, name: string) =>
    new KubeStatusError(404, 'NotFound', `${qualified(gr)} "${name}" not found`, {
      name,
      group: gr.group || undefined,
      kind: gr.resource,
    }),
  unknownPath: () => new KubeStatusError(404, 'NotFound', 'the server could not find the requested resource', {}),
  alreadyExists: (gr: GroupResource, name: string) =>
    new KubeStatusError(409, 'AlreadyExists', `${qualified(gr)} "${name}" already exists`, {
      name,
      group: gr.group || undefined,
      kind: gr.resource,
    }),
  conflict: (gr: GroupResource, name: string, why: string) =>
    new KubeStatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(gr)} "${name}": ${why}`, {
      name,
      group: gr.group || undefined,
      kind: gr.resource,
    }),
  invalid: (kindQualified: string, name: string, causes: Array<{ field: string; message: string }>) =>
    new KubeStatusError(
      422,
      'Invalid',
      `${kindQualified} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`,
      {
        name,
        kind: kindQualified.split('.')[0],
        causes: causes.map((c) => ({ reason: 'FieldValueInvalid', message: c.message, field: c.field })),
      },
    ),
  badRequest: (message: string) => new KubeStatusError(400, 'BadRequest', message),
  methodNotAllowed: () =>
    new KubeStatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {}),
  unauthorized: () => new KubeStatusError(401, 'Unauthorized', 'Unauthorized'),
  forbidden: (message: string) => new KubeStatusError(403, 'Forbidden', message),
  expired: (message: string) => new KubeStatusError(410, 'Expired', message),
  unsupportedMediaType: (contentType: string, accepted: string[]) =>
    new KubeStatusError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')} (got ${contentType || 'none'})`,
    ),
  tooLarge: () => new KubeStatusError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'),
  internal: (message: string) => new KubeStatusError(500, 'InternalError', `Internal error occurred: ${message}`),
};
