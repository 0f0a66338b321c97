/** A request the receiver answers with an error status (never a crash, never a partial write). */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly rpcCode: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}
