/** Terminal output: colour only on a terminal and never with NO_COLOR; errors on stderr. */
import type { Issue } from '../profile/issues.js';
import { formatLocation } from '../profile/issues.js';

const useColor = (stream: NodeJS.WriteStream): boolean =>
  Boolean(stream.isTTY) && process.env.NO_COLOR === undefined && process.env.TERM !== 'dumb';

const paint = (stream: NodeJS.WriteStream, code: string, s: string): string =>
  useColor(stream) ? `\u001b[${code}m${s}\u001b[0m` : s;

export const style = {
  red: (s: string, stream = process.stderr) => paint(stream, '31', s),
  yellow: (s: string, stream = process.stderr) => paint(stream, '33', s),
  green: (s: string, stream = process.stdout) => paint(stream, '32', s),
  dim: (s: string, stream = process.stdout) => paint(stream, '2', s),
  bold: (s: string, stream = process.stdout) => paint(stream, '1', s),
};

export function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}

export function err(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** `file:line:col: severity[code] message (path)` then an indented hint. */
export function formatIssue(file: string, i: Issue, stream: NodeJS.WriteStream = process.stdout): string {
  const sev =
    i.severity === 'error'
      ? paint(stream, '31', 'error')
      : i.severity === 'warning'
        ? paint(stream, '33', 'warning')
        : paint(stream, '36', 'note');
  const lines = [`${formatLocation(file, i)}: ${sev}[${i.code}] ${i.message} (${i.path})`];
  if (i.hint) lines.push(`    hint: ${i.hint}`);
  return lines.join('\n');
}

/** Progress for anything that takes seconds: stderr, only on a terminal. */
export function progress(msg: string): void {
  if (process.stderr.isTTY) process.stderr.write(`${msg}\n`);
}

/** JSON output where bigint values are written as exact decimal numbers. */
export function toJsonText(value: unknown): string {
  const text = JSON.stringify(
    value,
    (_k, v) => (typeof v === 'bigint' ? `__BIGINT__${v.toString()}__` : v),
    2,
  );
  return text.replace(/"__BIGINT__(\d+)__"/g, '$1');
}

/** A word as a POSIX shell reads it back unchanged: bare when safe, else in single quotes. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/** A command line a user can paste into a shell. */
export const shellLine = (words: readonly string[]): string => words.map(shellQuote).join(' ');
