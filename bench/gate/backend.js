// The protected service of the gate benchmark: a minimal node:http server answering a small JSON
// (and static content under /static/, for the soak).
// Run as its own process; it reports its port to the parent over IPC.
import { createServer } from 'node:http';

const ITEM = JSON.stringify({ id: 101, name: 'tea pot', price: 12.5, stock: 3 });

// Static content the gate streams without analysing it: images, a download of several MiB, and a
// chunked binary stream with no Content-Type.
const IMAGE = Buffer.alloc(24 * 1024, 0x89);
const DOWNLOAD = Buffer.alloc(4 * 1024 * 1024, 0x42);
const STREAM_CHUNK = Buffer.alloc(64 * 1024, 0x17);
const STREAM_CHUNKS = 16;

function serveStatic(req, res) {
  if (req.url.startsWith('/static/img/')) {
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': IMAGE.length, 'cache-control': 'max-age=3600' });
    return void res.end(IMAGE);
  }
  if (req.url === '/static/download.bin') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': DOWNLOAD.length });
    return void res.end(DOWNLOAD);
  }
  // Chunked, no Content-Type: each chunk once the previous one was taken.
  res.writeHead(200);
  let sent = 0;
  const next = () => {
    while (sent < STREAM_CHUNKS) {
      sent++;
      if (!res.write(STREAM_CHUNK)) return void res.once('drain', next);
    }
    res.end();
  };
  next();
}

const server = createServer((req, res) => {
  if (req.url.startsWith('/static/')) {
    req.resume();
    return void req.on('end', () => serveStatic(req, res));
  }
  let length = 0;
  req.on('data', (c) => (length += c.length));
  req.on('end', () => {
    const body = req.method === 'POST' ? `{"ok":true,"cart":${length}}` : ITEM;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send?.({ port: /** @type {import('node:net').AddressInfo} */ (server.address()).port }));
process.on('disconnect', () => process.exit(0));
