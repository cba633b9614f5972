// The one logger shape of Guard: the part of a pino logger that gate, service and store code call.
// A pino logger fits it; tests pass a recorder or silentLogger. Every line is a structured object
// and a short message, as pino writes it.

export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** A logger that writes nothing. */
export const silentLogger: Logger = Object.freeze({ debug() {}, info() {}, warn() {}, error() {} });
