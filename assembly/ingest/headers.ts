// What the original's gate saw of the headers (reference §5.1): canonical names, Host excluded,
// hop-by-hop headers removed, repeated lines kept in order, values trimmed of surrounding spaces.
import { canonicalHeaderKey } from "../http/header";

export class HeaderList {
  names: Array<string> = new Array<string>();
  values: Array<string> = new Array<string>();

  reset(): void {
    this.names.length = 0;
    this.values.length = 0;
  }

  push(name: string, value: string): void {
    this.names.push(name);
    this.values.push(value);
  }

  /** The first value of a header, or null. */
  first(name: string): string | null {
    for (let i = 0; i < this.names.length; i++) if (this.names[i] == name) return this.values[i];
    return null;
  }

  has(name: string): bool {
    return this.names.indexOf(name) >= 0;
  }

  remove(name: string): void {
    let w = 0;
    for (let i = 0; i < this.names.length; i++) {
      if (this.names[i] == name) continue;
      this.names[w] = this.names[i];
      this.values[w] = this.values[i];
      w++;
    }
    this.names.length = w;
    this.values.length = w;
  }

  /** Values of one header, in order. */
  all(name: string): Array<string> {
    const out = new Array<string>();
    for (let i = 0; i < this.names.length; i++) if (this.names[i] == name) out.push(this.values[i]);
    return out;
  }
}

export function trimOWS(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isOWS(s.charCodeAt(a))) a++;
  while (b > a && isOWS(s.charCodeAt(b - 1))) b--;
  return a == 0 && b == s.length ? s : s.substring(a, b);
}

function isOWS(c: i32): bool {
  return c == 32 || c == 9;
}

const HOP_BY_HOP: StaticArray<string> = [
  "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
];

/** Comma-separated tokens of header values, trimmed, empty ones skipped. */
export function tokens(values: Array<string>): Array<string> {
  const out = new Array<string>();
  for (let i = 0; i < values.length; i++) {
    const parts = values[i].split(",");
    for (let j = 0; j < parts.length; j++) {
      const t = trimOWS(parts[j]);
      if (t.length > 0) out.push(t);
    }
  }
  return out;
}

function containsToken(values: Array<string>, token: string): bool {
  const t = tokens(values);
  for (let i = 0; i < t.length; i++) if (t[i].toLowerCase() == token) return true;
  return false;
}

/**
 * Apply Go's ReverseProxy request rules: drop the headers named in Connection and the hop-by-hop
 * ones, keep `Te: trailers`, restore Connection/Upgrade for protocol upgrades, insert an empty
 * User-Agent, and set X-Forwarded-For to the client's list plus the peer.
 */
export function normaliseRequestHeaders(h: HeaderList, remoteHost: string): void {
  h.remove("Host");
  const connection = h.all("Connection");
  const upgrade = h.first("Upgrade");
  const upgrading = upgrade != null && containsToken(connection, "upgrade");
  const named = tokens(connection);
  for (let i = 0; i < named.length; i++) h.remove(canonicalHeaderKey(named[i]));
  const teTrailers = containsToken(h.all("Te"), "trailers");
  for (let i = 0; i < HOP_BY_HOP.length; i++) h.remove(HOP_BY_HOP[i]);
  if (teTrailers) h.push("Te", "trailers");
  if (upgrading) {
    h.push("Connection", "Upgrade");
    h.push("Upgrade", upgrade!);
  }
  if (!h.has("User-Agent")) h.push("User-Agent", "");
  if (remoteHost.length > 0) {
    const prior = h.all("X-Forwarded-For");
    h.remove("X-Forwarded-For");
    h.push("X-Forwarded-For", prior.length > 0 ? prior.join(", ") + ", " + remoteHost : remoteHost);
  }
}
