// One error type for mistakes the user can fix (bad file, option, node); the CLI maps it to exit code 2.
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    message: string,
    readonly hint?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

// Narrow an unknown catch value to a message without losing non-Error throws.
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
