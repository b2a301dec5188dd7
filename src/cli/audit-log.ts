import { appendFileSync } from 'node:fs';

/**
 * An audit trail of the profiles sysfence makes: with SYSFENCE_AUDIT_LOG=FILE, every profile a
 * command generates, learns or merges is appended to FILE as one JSON line (the command, what it
 * is, the calls allowed past Docker's default on purpose, the format and the text written), so a
 * pipeline (and sysfence's own test suite) can prove each one again afterwards.
 */
export function auditProfile(entry: {
  what: string;
  exempt: readonly string[];
  format: string;
  text: string;
  output?: string | undefined;
}): void {
  const file = process.env.SYSFENCE_AUDIT_LOG;
  if (!file) return;
  appendFileSync(file, `${JSON.stringify({ command: process.argv[2] ?? '', ...entry })}\n`);
}
