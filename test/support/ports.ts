// Ports for child processes that must be told theirs (`guard gate` takes PORT, not port 0).
import net, { type AddressInfo } from 'node:net';

/** A port nothing listens on (free a moment ago). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
