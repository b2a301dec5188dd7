/**
 * The one error model: everything sysfence reports as a failure is a SysfenceError with a stable
 * `code` (listed in docs/validation.md, which a test checks against the source), a message, and,
 * where there is one, a location (file:line, JSON path, instruction index) and a hint of what to
 * do. The CLI catches it once (src/cli/cli.ts) and prints `error[code]: message (location)`; any
 * other exception is a bug and is said to be one. Each layer keeps its own subclass for its fields
 * (a tool's name, a file path, an instruction index).
 */
export class SysfenceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** Where: file:line, a JSON path, a path; shown after the message. */
    readonly location?: string,
    /** What to do about it; shown on its own line. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'SysfenceError';
  }
}
