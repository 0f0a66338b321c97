import type { IncomingMessage } from 'node:http';
import { RpcCode } from './otlpResponses.js';
import { RequestError } from './RequestError.js';

export interface UploadBudgetOptions {
  /** Largest body in bytes (else 413). */
  readonly maxRequestBytes: number;
  /** Bytes of bodies held in memory at once across connections (else 503). */
  readonly maxBufferedBytes: number;
  /** Milliseconds a body may take to arrive, from its first byte's wait to its last (else 408). */
  readonly bodyTimeoutMillis: number;
  /** An upload that has sent nothing for this long gives its bytes up when the budget is short. */
  readonly stallMillis: number;
  /** `Retry-After` seconds, as text. */
  readonly retryAfter: string;
  /** Milliseconds on a monotonic clock. */
  readonly now: () => number;
}

interface Upload {
  size: number;
  lastDataAt: number;
  fail(error: RequestError): void;
}

/**
 * The memory that request bodies may hold while they arrive, shared fairly: every body has a
 * deadline, and when the budget is short, uploads that have stalled are ended (408) to make room
 * for ones that are sending, so a few clients that send half a body and stop cannot starve
 * everyone else (as they did for 62–72 s before).
 */
export class UploadBudget {
  /** Bytes of bodies in memory: those arriving and those read but not yet decoded. */
  bufferedBytes = 0;
  private readonly uploads = new Set<Upload>();

  constructor(private readonly options: UploadBudgetOptions) {}

  /**
   * Reads a body within the per-request and the all-connections limits and the deadline. Over a
   * limit it stops buffering and lets the rest drain, so the client still receives the error
   * answer. A body read completely stays counted until `release` after decoding.
   */
  read(req: IncomingMessage): Promise<Buffer> {
    const { maxRequestBytes } = this.options;
    const declared = Number(req.headers['content-length']);
    if (declared > maxRequestBytes) return Promise.reject(this.tooLarge());
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const upload: Upload = { size: 0, lastDataAt: this.options.now(), fail: (error) => finish(error) };
      const deadline = setTimeout(
        () =>
          finish(
            new RequestError(
              408,
              RpcCode.DEADLINE_EXCEEDED,
              `the request body did not arrive within ${this.options.bodyTimeoutMillis} ms`,
            ),
          ),
        this.options.bodyTimeoutMillis,
      );
      deadline.unref();
      const finish = (error?: RequestError) => {
        if (!this.uploads.delete(upload)) return;
        clearTimeout(deadline);
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('error', onError);
        req.off('close', onError);
        if (error === undefined) {
          resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, upload.size));
        } else {
          this.bufferedBytes -= upload.size;
          chunks.length = 0;
          reject(error);
        }
      };
      const onData = (chunk: Buffer) => {
        upload.size += chunk.length;
        upload.lastDataAt = this.options.now();
        this.bufferedBytes += chunk.length;
        if (upload.size > maxRequestBytes) finish(this.tooLarge());
        else if (this.bufferedBytes > this.options.maxBufferedBytes && !this.endStalledUploads(upload)) {
          finish(
            new RequestError(503, RpcCode.UNAVAILABLE, 'too many request bodies in flight; retry later', {
              'Retry-After': this.options.retryAfter,
            }),
          );
        } else chunks.push(chunk);
      };
      const onEnd = () => finish();
      const onError = () =>
        finish(
          new RequestError(400, RpcCode.INVALID_ARGUMENT, 'the request body was not received completely'),
        );
      this.uploads.add(upload);
      req.on('data', onData);
      req.on('end', onEnd);
      req.on('error', onError);
      // 'close' as well as 'error': however an aborted upload is signalled, the read settles.
      req.on('close', onError);
    });
  }

  /** Gives back the bytes of a body read completely, once it is decoded. */
  release(bytes: number): void {
    this.bufferedBytes -= bytes;
  }

  tooLarge(): RequestError {
    return new RequestError(
      413,
      RpcCode.INVALID_ARGUMENT,
      `the request body exceeds ${this.options.maxRequestBytes} bytes (after decompression too); send smaller batches`,
    );
  }

  /**
   * Ends stalled uploads, largest first, until the budget fits; true when it does. The upload
   * asking is never one of them: it has just sent data.
   */
  private endStalledUploads(asking: Upload): boolean {
    const stalledBefore = this.options.now() - this.options.stallMillis;
    const stalled = [...this.uploads]
      .filter((upload) => upload !== asking && upload.lastDataAt <= stalledBefore)
      .sort((a, b) => b.size - a.size);
    for (const upload of stalled) {
      if (this.bufferedBytes <= this.options.maxBufferedBytes) break;
      upload.fail(
        new RequestError(
          408,
          RpcCode.DEADLINE_EXCEEDED,
          `the request body stalled for ${this.options.stallMillis} ms while others waited; send it again`,
        ),
      );
    }
    return this.bufferedBytes <= this.options.maxBufferedBytes;
  }
}
