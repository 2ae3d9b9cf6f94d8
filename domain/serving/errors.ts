/**
 * A request the service refuses: bad input (4xx, the message names the field, row or column and
 * what to do) or a service that cannot answer yet (503). Thrown by the request readers and turned
 * into a JSON error body by the HTTP handler; never logged as a failure of the service.
 */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = type;
  }
}

export const badRequest = (type: string, message: string, details?: Record<string, unknown>) =>
  new RequestError(400, type, message, details);
