/** lint's vocabulary: findings, and the checks that make them (one check per module). */
import type { ArchDef } from '../../arch/types.js';
import type { Action } from '../../profile/actions.js';
import type { Profile } from '../../profile/model.js';
import type { RuntimeTarget } from '../../targets/target.js';
import type { SyscallVerdict, VerdictTable } from '../verdicts.js';

export type LintSeverity = 'error' | 'warning' | 'info';

/** Severity order, most severe first (sorting, --fail-on). */
export const SEVERITY_RANK: Readonly<Record<LintSeverity, number>> = { error: 0, warning: 1, info: 2 };

export interface Finding {
  code: string;
  severity: LintSeverity;
  path: string;
  message: string;
  fix: string;
  /** A call that shows the finding, where one does (e.g. `getpid(2)` on x86_64). */
  witness?: string;
  /** A replacement for the rules concerned, where lint can propose one (Docker JSON). */
  rewrite?: unknown;
}

export interface LintContext {
  profile: Profile;
  capabilities: readonly string[];
  kernelVersion: string;
  /** The runtime that enforces the profile (libseccomp's checks are about it). */
  target: RuntimeTarget;
  /** Search a rewrite libseccomp compiles right for each miscompiled syscall (default true). */
  rewrites: boolean;
  /** The ABIs the profile targets (x86_64 when it names none). */
  arches: ArchDef[];
  tables: VerdictTable[];
  def: Action;
  /** A name's verdict on the first accepting ABI that has it. */
  verdictOf(name: string): { v: SyscallVerdict; abi: ArchDef } | undefined;
  /** The JSON path of the first rule naming `name` (or the default action). */
  rulePath(name: string): string;
}

export interface LintCode {
  code: string;
  /** One line for help and docs. */
  summary: string;
}

export interface LintCheck {
  codes: readonly LintCode[];
  run(ctx: LintContext): Finding[];
}
