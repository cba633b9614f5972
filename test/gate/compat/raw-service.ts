// A service that writes its answers as fixed bytes, for framing no HTTP library of Node would send:
// to every request head on a keep-alive connection (requests without bodies), the same response,
// or the one its path chooses — bytes, or a function that does with the socket what the answer
// needs (stall after the head, say).
import net, { type AddressInfo } from 'node:net';

/** What the service writes for a request: its bytes, or what it does with the socket. */
export type RawAnswer = string | ((socket: net.Socket) => void);

export interface RawService {
  origin: string;
  close(): Promise<void>;
}

/** `answer`: the bytes for every request, or the answer for a request's path. */
export async function startRawService(answer: string | ((path: string) => RawAnswer)): Promise<RawService> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let pending = '';
    socket.on('data', (d) => {
      pending += d.toString('latin1');
      let end: number;
      while ((end = pending.indexOf('\r\n\r\n')) >= 0) {
        const path = pending.slice(0, end).split(' ')[1] ?? '';
        pending = pending.slice(end + 4);
        const chosen = typeof answer === 'string' ? answer : answer(path);
        if (typeof chosen === 'string') socket.write(chosen);
        else chosen(socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
