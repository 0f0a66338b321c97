import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';

/**
 * A loopback port that was free a moment ago, for programs that cannot report the port they got
 * from port 0 (Prometheus' web server).
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}
