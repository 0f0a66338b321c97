import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzip } from 'node:zlib';
import { isLoopbackName } from '../config/isLoopbackName.js';
import { ConfigError, InvalidCollectionError, ShutdownError } from '../errors.js';
import type { Logger } from '../logging/Logger.js';
import { silentLogger } from '../logging/Logger.js';
import { RateLimitedWarning } from '../logging/RateLimitedWarning.js';
import { decodeOtlpMetrics, OtlpDecodeError, type OtlpEncoding } from './decodeOtlpMetrics.js';
import { CONTENT_TYPES, exportResponseBody, RpcCode, statusBody } from './otlpResponses.js';
import { RequestError } from './RequestError.js';
import { TurnQueue } from './TurnQueue.js';
import { toResourceMetrics } from './toResourceMetrics.js';
import { UploadBudget } from './UploadBudget.js';
import { type BatchWriter, WriteQueue } from './WriteQueue.js';

export interface OtlpReceiverOptions {
  /** Where received points go: the MetricStore (its `writeCollections`), the reader's writer too. */
  store: BatchWriter;
  /** Interface to listen on; a non-loopback one requires `token`. @default '127.0.0.1' */
  host?: string;
  /** TCP port; 0 picks a free one (see `url` after `start`). @default 4318, the OTLP/HTTP port */
  port?: number;
  /** When set, requests must carry `Authorization: Bearer <token>` (else 401). @default undefined */
  token?: string;
  /** Largest request body in bytes, as sent and after gunzip (else 413). @default 8 MiB */
  maxRequestBytes?: number;
  /** Points accepted but not yet written beyond which requests get 429 + Retry-After. @default 200000 */
  maxPendingPoints?: number;
  /** Bytes of request bodies held in memory at once across connections (else 503). @default 64 MiB */
  maxBufferedBytes?: number;
  /**
   * Milliseconds a request body may take to arrive; a slower one is answered 408 and its
   * connection closed. @default 10000
   */
  bodyTimeoutMillis?: number;
  /**
   * Milliseconds without data after which an unfinished upload gives its buffered bytes up
   * (408) when another request needs room in `maxBufferedBytes`. @default 1000
   */
  stalledUploadMillis?: number;
  /** Monotonic clock in milliseconds, for stalled uploads. @default performance.now */
  now?: () => number;
  /** Seconds clients are told to wait (`Retry-After`) when the receiver is busy. @default 1 */
  retryAfterSeconds?: number;
  /** Most points written per transaction when requests queue up. @default 50000 */
  maxBatchPoints?: number;
  /** Milliseconds `shutdown` waits for requests in progress before closing their connections. @default 10000 */
  shutdownTimeoutMillis?: number;
  /** @default silentLogger */
  logger?: Logger;
}

const MIB = 1024 * 1024;
const METRICS_PATH = '/v1/metrics';

/**
 * OTLP/HTTP metrics receiver (`POST /v1/metrics`, binary protobuf or JSON, optionally gzip): what
 * services or a Collector's `otlphttp` exporter push to a central perfwatch. Decoded points are
 * converted to the SDK's ResourceMetrics and written by the same store writer as the
 * DuckDbMetricReader; a 200 answer means they are committed to DuckDB.
 */
export class OtlpReceiver {
  private readonly store: BatchWriter;
  private readonly host: string;
  private readonly port: number;
  private readonly tokenDigest: Buffer | undefined;
  private readonly maxRequestBytes: number;
  private readonly uploads: UploadBudget;
  private readonly retryAfter: string;
  private readonly shutdownTimeoutMillis: number;
  private readonly logger: Logger;
  private readonly writeWarning: RateLimitedWarning;
  private readonly queue: WriteQueue;
  private readonly server: Server;
  private readonly inflight = new Set<Promise<void>>();
  private readonly decodeTurns = new TurnQueue();
  private listeningUrl: string | undefined;
  private shuttingDown = false;
  private shutdownPromise: Promise<void> | undefined;

  constructor(options: OtlpReceiverOptions) {
    this.store = options.store;
    this.host = options.host ?? '127.0.0.1';
    this.port = checkedInteger('port', options.port ?? 4318, 0, 65_535);
    const token = options.token;
    if (token !== undefined && token.length === 0) throw new ConfigError('token', 'must not be empty');
    if (token === undefined && !isLoopbackName(this.host)) {
      throw new ConfigError(
        'host',
        `${JSON.stringify(this.host)} is not a loopback interface: set a token (--token or PERFWATCH_API_TOKEN) before accepting metrics from the network`,
      );
    }
    this.tokenDigest = token === undefined ? undefined : sha256(token);
    this.maxRequestBytes = checkedInteger(
      'maxRequestBytes',
      options.maxRequestBytes ?? 8 * MIB,
      1,
      2 ** 31 - 1,
    );
    this.retryAfter = String(checkedInteger('retryAfterSeconds', options.retryAfterSeconds ?? 1, 1, 3600));
    this.uploads = new UploadBudget({
      maxRequestBytes: this.maxRequestBytes,
      maxBufferedBytes: checkedInteger(
        'maxBufferedBytes',
        options.maxBufferedBytes ?? 64 * MIB,
        this.maxRequestBytes,
        2 ** 40,
      ),
      bodyTimeoutMillis: checkedInteger(
        'bodyTimeoutMillis',
        options.bodyTimeoutMillis ?? 10_000,
        1,
        2 ** 31 - 1,
      ),
      stallMillis: checkedInteger(
        'stalledUploadMillis',
        options.stalledUploadMillis ?? 1_000,
        0,
        2 ** 31 - 1,
      ),
      retryAfter: this.retryAfter,
      now: options.now ?? (() => performance.now()),
    });
    this.shutdownTimeoutMillis = checkedInteger(
      'shutdownTimeoutMillis',
      options.shutdownTimeoutMillis ?? 10_000,
      0,
      2 ** 31 - 1,
    );
    this.queue = new WriteQueue(
      this.store,
      checkedInteger('maxPendingPoints', options.maxPendingPoints ?? 200_000, 1, 1e9),
      checkedInteger('maxBatchPoints', options.maxBatchPoints ?? 50_000, 1, 1e9),
    );
    this.logger = options.logger ?? silentLogger;
    this.writeWarning = new RateLimitedWarning(this.logger, 60_000);
    this.server = createServer((req, res) => this.track(this.handle(req, res)));
    // Headers too must arrive in time; bodies have their own deadline (UploadBudget).
    this.server.requestTimeout = 30_000;
  }

  /** `http://host:port/v1/metrics` once started. */
  get url(): string | undefined {
    return this.listeningUrl;
  }

  /** Points accepted and waiting for the store. */
  get pendingPoints(): number {
    return this.queue.pendingPoints;
  }

  /** Starts listening; rejects with ConfigError when the port is taken or the host unknown. */
  async start(): Promise<string> {
    if (this.shuttingDown) throw new ShutdownError('OtlpReceiver');
    this.server.listen(this.port, this.host);
    try {
      await once(this.server, 'listening');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ConfigError(
        'port',
        code === 'EADDRINUSE'
          ? `${this.host}:${this.port} is already in use`
          : `cannot listen on ${this.host}:${this.port}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const address = this.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.listeningUrl = `http://${host}:${address.port}${METRICS_PATH}`;
    this.logger.info(
      { url: this.listeningUrl, auth: this.tokenDigest !== undefined },
      'OTLP receiver listening',
    );
    return this.listeningUrl;
  }

  /** Resolves when every point accepted so far is written (or its write has failed). */
  async forceFlush(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
    await this.queue.flush();
  }

  /**
   * Stops accepting connections, lets requests in progress finish (their points are written),
   * then closes the remaining connections. Idempotent; the store stays open (its owner closes it).
   */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.stop();
    return this.shutdownPromise;
  }

  private async stop(): Promise<void> {
    this.shuttingDown = true;
    const closed = this.server.listening ? once(this.server, 'close') : Promise.resolve();
    this.server.close();
    this.server.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.shutdownTimeoutMillis);
      timer.unref();
    });
    await Promise.race([Promise.allSettled([...this.inflight]), timeout]);
    clearTimeout(timer);
    this.server.closeAllConnections();
    await this.queue.flush();
    await closed;
  }

  private track(handling: Promise<void>): void {
    this.inflight.add(handling);
    // handle() answers every failure itself; this only guards against a bug becoming an
    // unhandled rejection that would end the process.
    void handling
      .catch((error: unknown) => this.logger.error({ err: error }, 'OTLP receiver failed on a request'))
      .finally(() => this.inflight.delete(handling));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Errors are answered in the request's encoding when it is one of ours, else as JSON.
    let encoding: OtlpEncoding = 'json';
    try {
      const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (mediaType === CONTENT_TYPES.protobuf) encoding = 'protobuf';
      const path = (req.url ?? '').split('?')[0];
      if (path !== METRICS_PATH)
        throw new RequestError(404, RpcCode.NOT_FOUND, `no such path; POST metrics to ${METRICS_PATH}`);
      if (req.method !== 'POST') {
        throw new RequestError(405, RpcCode.UNIMPLEMENTED, `${METRICS_PATH} accepts POST only`, {
          Allow: 'POST',
        });
      }
      this.authenticate(req);
      if (this.shuttingDown) {
        throw new RequestError(503, RpcCode.UNAVAILABLE, 'the receiver is shutting down', {
          'Retry-After': this.retryAfter,
        });
      }
      if (mediaType !== CONTENT_TYPES.protobuf && mediaType !== CONTENT_TYPES.json) {
        throw new RequestError(
          415,
          RpcCode.INVALID_ARGUMENT,
          `Content-Type must be ${CONTENT_TYPES.protobuf} or ${CONTENT_TYPES.json}, got ${JSON.stringify(mediaType)}`,
        );
      }
      const contentEncoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
      if (contentEncoding !== 'identity' && contentEncoding !== 'gzip') {
        throw new RequestError(
          415,
          RpcCode.INVALID_ARGUMENT,
          `Content-Encoding must be gzip or absent, got ${JSON.stringify(contentEncoding)}`,
        );
      }
      // Refuse before reading the body: a full queue answers in microseconds, not after an upload.
      if (this.queue.isFull) throw this.busy();
      const converted = await this.receive(req, encoding, contentEncoding === 'gzip');
      let rejected = converted.rejected;
      let errorMessage = converted.errorMessage;
      if (converted.points > 0) {
        const written = this.queue.offer(converted.resourceMetrics, converted.points);
        if (written === undefined) throw this.busy();
        try {
          const { refused, refusal } = await written;
          if (refused > 0) {
            // Counted with the invalid points: a client must not resend them (they would be refused again).
            rejected += refused;
            const limitMessage = `${refused} data point(s) of new series refused: ${refusal}`;
            errorMessage = errorMessage === '' ? limitMessage : `${errorMessage}; ${limitMessage}`;
          }
        } catch (error) {
          if (error instanceof InvalidCollectionError) {
            // Retrying cannot help: the client must not resend it.
            throw new RequestError(400, RpcCode.INVALID_ARGUMENT, error.message);
          }
          this.writeWarning.warn(
            { err: error },
            'writing received metrics failed; clients are asked to retry',
          );
          throw new RequestError(
            503,
            RpcCode.UNAVAILABLE,
            `storing the metrics failed: ${(error as Error).message}`,
            { 'Retry-After': this.retryAfter },
          );
        }
      }
      if (rejected > 0) this.logger.debug({ rejected, reason: errorMessage }, 'rejected OTLP points');
      this.send(res, 200, encoding, exportResponseBody(encoding, rejected, errorMessage));
    } catch (error) {
      const failure =
        error instanceof RequestError
          ? error
          : error instanceof OtlpDecodeError
            ? new RequestError(400, RpcCode.INVALID_ARGUMENT, error.message)
            : new RequestError(500, RpcCode.INTERNAL, `internal error: ${(error as Error).message}`);
      if (failure.status === 500) this.logger.error({ err: error }, 'OTLP receiver failed on a request');
      // The rest of an unread body is not worth reading: close the connection after answering.
      const closeAfter = !req.complete;
      if (closeAfter) req.resume();
      this.send(res, failure.status, encoding, statusBody(encoding, failure.rpcCode, failure.message), {
        ...failure.headers,
        ...(closeAfter ? { Connection: 'close' } : {}),
      });
      // A client too slow to send its body is not waited for while it drains: the socket goes.
      if (failure.status === 408) res.once('finish', () => req.socket.destroy());
    }
  }

  /**
   * Reads, decompresses, decodes and converts a request body, decoding in an event-loop turn
   * of its own (see TurnQueue). Its own function so the body buffers and the decoded message
   * are garbage before the wait for the store begins.
   */
  private async receive(req: IncomingMessage, encoding: OtlpEncoding, gzipped: boolean) {
    const raw = await this.uploads.read(req);
    try {
      const body = gzipped ? await this.gunzip(raw) : raw;
      await this.decodeTurns.next();
      return toResourceMetrics(decodeOtlpMetrics(body, encoding));
    } finally {
      this.uploads.release(raw.length);
    }
  }

  private busy(): RequestError {
    return new RequestError(
      429,
      RpcCode.RESOURCE_EXHAUSTED,
      `the write buffer is full (${this.queue.pendingPoints} points waiting for the store); retry later`,
      { 'Retry-After': this.retryAfter },
    );
  }

  private authenticate(req: IncomingMessage): void {
    if (this.tokenDigest === undefined) return;
    const header = req.headers.authorization ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    // Digests have equal length, so the comparison time does not depend on the token either.
    if (presented === undefined || !timingSafeEqual(sha256(presented), this.tokenDigest)) {
      throw new RequestError(401, RpcCode.UNAUTHENTICATED, 'missing or wrong Authorization: Bearer token', {
        'WWW-Authenticate': 'Bearer',
      });
    }
  }

  /** Gunzips within the size limit, so a small compressed bomb cannot expand in memory. */
  private gunzip(body: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      gunzip(body, { maxOutputLength: this.maxRequestBytes }, (error, result) => {
        if (error === null) resolve(result);
        else if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
          reject(this.uploads.tooLarge());
        else
          reject(new RequestError(400, RpcCode.INVALID_ARGUMENT, `body is not valid gzip: ${error.message}`));
      });
    });
  }

  private send(
    res: ServerResponse,
    status: number,
    encoding: OtlpEncoding,
    body: Uint8Array,
    headers: Record<string, string> = {},
  ): void {
    if (res.headersSent) return;
    res.writeHead(status, {
      'Content-Type': CONTENT_TYPES[encoding],
      'Content-Length': String(body.byteLength),
      ...headers,
    });
    res.end(body);
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function checkedInteger(option: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(option, `must be an integer between ${min} and ${max}, got ${String(value)}`);
  }
  return value;
}
