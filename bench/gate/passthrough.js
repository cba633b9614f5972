// The baseline of the gate benchmark: a bare uWebSockets.js + undici pass-through proxy, with no
// profiling, no decision and no sync. Bodies stream both ways with backpressure, as in the gate.
// Run as a process (`node passthrough.js <upstream> [request|dispatch]`), it reports its port to the
// parent over IPC. `request` (the default, the baseline of the budgets) uses undici's request API;
// `dispatch` uses the lower-level dispatch API with a handler object, as guard-gate does, and is
// reported beside it so that the transport's share of the gate's advantage is visible.
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { Pool } from 'undici';

const require = createRequire(import.meta.url);
const uws = require('uWebSockets.js');

// Hop-by-hop and framing headers: the proxy's own connection decides them.
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer', 'date']);

/** The request body as a Readable fed by uWS, pausing the client while undici has not read it. */
function requestBody(res, aborted) {
  let paused = false;
  const body = new Readable({
    read() {
      if (paused && !aborted()) {
        paused = false;
        res.resume();
      }
    },
  });
  res.onData((ab, last) => {
    if (!body.push(Buffer.from(new Uint8Array(ab))) && !last) {
      paused = true;
      res.pause();
    }
    if (last) body.push(null);
  });
  return body;
}

export function startPassthrough(upstream, port = 0, api = 'request') {
  if (api === 'dispatch') return startDispatchPassthrough(upstream, port);
  const pool = new Pool(new URL(upstream).origin, { connections: 64, pipelining: 1, keepAliveTimeout: 4_000 });
  const app = uws.App();
  app.any('/*', (res, req) => {
    const method = req.getMethod().toUpperCase();
    const query = req.getQuery();
    const path = query ? `${req.getUrl()}?${query}` : req.getUrl();
    const headers = {};
    req.forEach((k, v) => {
      if (!HOP.has(k)) headers[k] = v;
    });
    const declared = req.getHeader('content-length');
    const hasBody = (declared !== '' && declared !== '0') || req.getHeader('transfer-encoding') !== '';
    if (declared !== '') headers['content-length'] = declared;
    let aborted = false;
    const ac = new AbortController();
    res.onAborted(() => {
      aborted = true;
      ac.abort();
    });
    const body = hasBody ? requestBody(res, () => aborted) : null;
    pool.request({ method, path, headers, body, signal: ac.signal }).then(
      (up) => {
        if (aborted) return up.body.resume();
        // The head goes out with the first piece of body, in the same corked write.
        let headWritten = false;
        const writeHead = () => {
          if (headWritten) return;
          headWritten = true;
          res.writeStatus(String(up.statusCode));
          for (const [k, v] of Object.entries(up.headers)) {
            if (HOP.has(k)) continue;
            for (const one of Array.isArray(v) ? v : [v]) res.writeHeader(k, one);
          }
        };
        if (up.headers['content-length'] === '0' || up.statusCode === 204 || up.statusCode === 304) {
          up.body.resume();
          return res.cork(() => {
            writeHead();
            res.end();
          });
        }
        const stream = up.body;
        const length = Number(up.headers['content-length']);
        if (Number.isInteger(length) && length >= 0 && method !== 'HEAD') {
          // Known length: tryEnd frames it (content-length, one write for a small body), as the gate does.
          stream.on('data', (chunk) => {
            if (aborted) return;
            let result;
            const start = res.getWriteOffset();
            res.cork(() => {
              writeHead();
              result = res.tryEnd(chunk, length);
            });
            if (!result[0] && !result[1]) {
              stream.pause();
              res.onWritable((offset) => {
                const [ok, done] = res.tryEnd(chunk.subarray(offset - start), length);
                if (ok && !done) stream.resume();
                return ok;
              });
            }
          });
        } else {
          stream.on('data', (chunk) => {
            if (aborted) return;
            let ok;
            res.cork(() => {
              writeHead();
              ok = res.write(chunk);
            });
            if (!ok) {
              stream.pause();
              res.onWritable(() => {
                stream.resume();
                return true;
              });
            }
          });
          stream.on('end', () => {
            if (!aborted)
              res.cork(() => {
                writeHead();
                res.end();
              });
          });
        }
        stream.on('error', () => {
          if (!aborted) res.close();
        });
      },
      () => {
        if (!aborted) res.cork(() => res.writeStatus('502 Bad Gateway').end('bad gateway'));
      },
    );
  });
  return new Promise((resolve, reject) => {
    app.listen('127.0.0.1', port, (sock) => (sock ? resolve({ port: uws.us_socket_local_port(sock), close: () => (uws.us_listen_socket_close(sock), pool.close()) }) : reject(new Error(`cannot listen on ${port}`))));
  });
}

/** The same pass-through on undici's dispatch API: no promise, stream or AbortController per request. */
function startDispatchPassthrough(upstream, port) {
  const pool = new Pool(new URL(upstream).origin, { connections: 64, pipelining: 1, keepAliveTimeout: 4_000 });
  const app = uws.App();
  app.any('/*', (res, req) => {
    const method = req.getMethod().toUpperCase();
    const query = req.getQuery();
    const path = query ? `${req.getUrl()}?${query}` : req.getUrl();
    const headers = [];
    req.forEach((k, v) => {
      if (!HOP.has(k)) headers.push(k, v);
    });
    const declared = req.getHeader('content-length');
    const hasBody = (declared !== '' && declared !== '0') || req.getHeader('transfer-encoding') !== '';
    if (declared !== '') headers.push('content-length', declared);
    const h = new RelayHandler(res);
    res.onAborted(() => {
      h.aborted = true;
      h.abortUpstream?.(new Error('client gone'));
    });
    const body = hasBody ? requestBody(res, () => h.aborted) : null;
    pool.dispatch({ method, path, headers, body }, h);
  });
  return new Promise((resolve, reject) => {
    app.listen('127.0.0.1', port, (sock) => (sock ? resolve({ port: uws.us_socket_local_port(sock), close: () => (uws.us_listen_socket_close(sock), pool.close()) }) : reject(new Error(`cannot listen on ${port}`))));
  });
}

/** Relays one upstream answer to a uWS response; pauses the upstream while uWS has backpressure. */
class RelayHandler {
  constructor(res) {
    this.res = res;
    this.aborted = false;
    this.abortUpstream = null;
    this.resume = null;
    this.status = 0;
    this.raw = null;
    this.length = null;
    this.headDone = false;
    this.pending = null;
    this.pendingAt = 0;
    this.ended = false;
  }
  onConnect(abort) {
    if (this.aborted) abort(new Error('client gone'));
    else this.abortUpstream = abort;
  }
  onHeaders(status, raw, resume) {
    this.status = status;
    this.raw = raw;
    this.resume = resume;
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i].length === 14 && raw[i].toString('latin1').toLowerCase() === 'content-length') this.length = Number(raw[i + 1].toString('latin1'));
    }
    return true;
  }
  writeHead() {
    if (this.headDone) return;
    this.headDone = true;
    this.res.writeStatus(String(this.status));
    const raw = this.raw;
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i].toString('latin1').toLowerCase();
      if (!HOP.has(k)) this.res.writeHeader(k, raw[i + 1].toString('latin1'));
    }
  }
  onData(chunk) {
    if (this.aborted) return true;
    const res = this.res;
    if (this.length !== null) {
      let result;
      const start = res.getWriteOffset();
      res.cork(() => {
        this.writeHead();
        result = res.tryEnd(chunk, this.length);
      });
      if (result[1]) this.ended = true;
      if (result[0] || result[1]) return true;
      this.pending = chunk;
      this.pendingAt = res.getWriteOffset() - start;
      res.onWritable(() => {
        const before = res.getWriteOffset();
        const [ok, done] = res.tryEnd(this.pending.subarray(this.pendingAt), this.length);
        if (done) this.ended = true;
        if (!ok && !done) {
          this.pendingAt += res.getWriteOffset() - before;
          return false;
        }
        this.pending = null;
        this.resume();
        return true;
      });
      return false;
    }
    let ok;
    res.cork(() => {
      this.writeHead();
      ok = res.write(chunk);
    });
    if (ok) return true;
    res.onWritable(() => {
      this.resume();
      return true;
    });
    return false;
  }
  onComplete() {
    if (this.aborted || this.ended) return;
    this.res.cork(() => {
      this.writeHead();
      if (this.length === 0 || this.status === 204 || this.status === 304) this.res.endWithoutBody();
      else this.res.end();
    });
  }
  onError() {
    if (this.aborted || this.ended) return;
    if (!this.headDone) this.res.cork(() => this.res.writeStatus('502 Bad Gateway').end('bad gateway'));
    else this.res.close();
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  const { port } = await startPassthrough(process.argv[2], 0, process.argv[3] ?? 'request');
  process.send?.({ port });
  process.on('disconnect', () => process.exit(0));
}
