import { type Agent, request } from 'node:http';

/**
 * POSTs an OTLP protobuf body to `url` on `agent`'s keep-alive sockets; resolves with the status
 * once the answer is read. A request still unanswered after `timeoutMillis` fails.
 */
export function postProtobuf(
  url: URL,
  payload: Uint8Array,
  agent: Agent,
  timeoutMillis = 60_000,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        timeout: timeoutMillis,
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': payload.byteLength },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}
