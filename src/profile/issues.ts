import type { Position } from './json-source.js';

export type Severity = 'error' | 'warning' | 'info';

/**
 * One finding about an input. `code` is stable (tests and tools match on it); `path` is a JSON path
 * such as `$.syscalls[3].names[0]`; `position` is 1-based line:column in the source text when the
 * input was text.
 */
export interface Issue {
  code: string;
  severity: Severity;
  message: string;
  path: string;
  position?: Position;
  /** What to do about it, when there is something to say. */
  hint?: string;
}

/** Collects issues; positions are filled in from a path -> offset map when one is known. */
/**
 * Notes (severity info) of one code past this many are counted, not kept: a profile of 100,000
 * duplicate rules gets 1,000 notes and one that says how many more there were. Errors and
 * warnings are always kept.
 */
export const MAX_NOTES_PER_CODE = 1000;

export class IssueList {
  readonly items: Issue[] = [];
  private readonly notes = new Map<string, { count: number; more?: Issue }>();

  add(code: string, severity: Severity, path: string, message: string, hint?: string): void {
    if (severity === 'info') {
      const n = this.notes.get(code) ?? { count: 0 };
      n.count++;
      this.notes.set(code, n);
      if (n.count > MAX_NOTES_PER_CODE) {
        const extra = n.count - MAX_NOTES_PER_CODE;
        if (!n.more) {
          n.more = { code, severity, message: '', path: '$' };
          this.items.push(n.more);
        }
        n.more.message = `... and ${extra} more ${code} note${extra === 1 ? '' : 's'} (the first ${MAX_NOTES_PER_CODE} are listed)`;
        return;
      }
    }
    const issue: Issue = { code, severity, message, path };
    if (hint !== undefined) issue.hint = hint;
    this.items.push(issue);
  }
  error(code: string, path: string, message: string, hint?: string): void {
    this.add(code, 'error', path, message, hint);
  }
  warn(code: string, path: string, message: string, hint?: string): void {
    this.add(code, 'warning', path, message, hint);
  }
  info(code: string, path: string, message: string, hint?: string): void {
    this.add(code, 'info', path, message, hint);
  }
}

/** Orders issues by position (then path, then code) so output is deterministic. */
export function sortIssues(issues: Issue[]): Issue[] {
  return [...issues].sort(
    (a, b) =>
      (a.position?.line ?? 0) - (b.position?.line ?? 0) ||
      (a.position?.column ?? 0) - (b.position?.column ?? 0) ||
      (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) ||
      (a.code < b.code ? -1 : a.code > b.code ? 1 : 0),
  );
}

export function formatLocation(file: string, issue: Issue): string {
  const pos = issue.position ? `:${issue.position.line}:${issue.position.column}` : '';
  return `${file}${pos}`;
}
