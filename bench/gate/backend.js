// The protected service of the gate benchmark: a minimal node:http server answering a small JSON.
// Run as its own process; it reports its port to the parent over IPC.
import { createServer } from 'node:http';

const ITEM = JSON.stringify({ id: 101, name: 'tea pot', price: 12.5, stock: 3 });

const server = createServer((req, res) => {
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
