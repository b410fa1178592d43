import type { ErrorCode } from '../../shared/contract';

/** An error meant for people: fronts show `message` as is and may react to `code`. */
export class StudioError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StudioError';
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
