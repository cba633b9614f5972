// The compatibility suite's static file servers, both serving the same Site: sirv (a Node static
// server: ETag and 304, Range and 206, precompressed .br/.gz files) on node:http, and Python's
// `python3 -m http.server` (HTTP/1.0 answers, Last-Modified and 304, directory listings) as its
// own process.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import sirv from 'sirv';

export interface StaticService {
  origin: string;
  close(): Promise<void>;
}

export async function startSirv(dir: string, host = '127.0.0.1'): Promise<StaticService> {
  const serve = sirv(dir, { etag: true, gzip: true, brotli: true, dev: false });
  const server: Server = createServer((req, res) =>
    serve(req, res, () => {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://${host}:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `python3 -m http.server` on a free port; resolves once it says where it listens. */
export async function startPythonStatic(dir: string, host = '127.0.0.1'): Promise<StaticService> {
  const child: ChildProcess = spawn('python3', ['-u', '-m', 'http.server', '0', '--bind', host, '--directory', dir], { stdio: ['ignore', 'pipe', 'ignore'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`python3 -m http.server did not start in 10 s: ${out}`)), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /port (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`python3 -m http.server exited (${code}): ${out}`));
    });
  });
  child.stdout!.resume();
  return {
    origin: `http://${host}:${port}`,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
