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

/**
 * Text from outside (a file name, a log line, a registry's answer) made safe for a terminal:
 * control characters (ESC among them) shown as \xNN, never sent raw; cut to `max` characters.
 */
export function printable(text: string, max = Number.POSITIVE_INFINITY): string {
  const cut = text.length > max ? `${text.slice(0, max)}...` : text;
  let out = '';
  for (const ch of cut) {
    const c = ch.codePointAt(0) ?? 0;
    out += c < 0x20 || (c >= 0x7f && c <= 0x9f) ? `\\x${c.toString(16).padStart(2, '0')}` : ch;
  }
  return out;
}
