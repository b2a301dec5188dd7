/**
 * The Profile: sysfence's one intermediate representation of a seccomp policy. It mirrors the
 * Docker/OCI JSON shape field for field (so that nothing a user wrote is lost and serialising is
 * deterministic), with argument values as exact bigints. Every parser produces it; every back-end
 * (serialisers, evaluate, the compiler) consumes it.
 */

/** OCI / Docker action spellings. SCMP_ACT_KILL is libseccomp's KILL_THREAD. */
export const ACTIONS = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
] as const;
export type ActionName = (typeof ACTIONS)[number];

/** Argument comparison operators (libseccomp's enum scmp_compare). */
export const OPERATORS = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
] as const;
export type Operator = (typeof OPERATORS)[number];

/** seccomp(2) filter flags runc and crun accept in `flags`. */
export const FILTER_FLAGS = [
  'SECCOMP_FILTER_FLAG_TSYNC',
  'SECCOMP_FILTER_FLAG_LOG',
  'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
  'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
] as const;

export interface ArgCondition {
  index: number;
  /** For SCMP_CMP_MASKED_EQ this is the mask; otherwise the value compared with. */
  value: bigint;
  /** For SCMP_CMP_MASKED_EQ the value the masked argument must equal; otherwise unused. */
  valueTwo?: bigint;
  op: Operator;
}

/** Docker's conditional-rule filter: applied by dockerd before the runtime sees the profile. */
export interface RuleFilter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

export interface SyscallRule {
  /** Docker allows either a single `name` or a list of `names`; we keep what was written. */
  name?: string;
  names?: string[];
  action: ActionName;
  errnoRet?: number;
  /** containers/common's symbolic errno (e.g. "EPERM"). */
  errno?: string;
  args?: ArgCondition[] | null;
  comment?: string;
  includes?: RuleFilter;
  excludes?: RuleFilter;
}

export interface ArchMapEntry {
  architecture: string;
  subArchitectures: string[] | null;
}

export interface Profile {
  defaultAction: ActionName;
  defaultErrnoRet?: number;
  /** containers/common's symbolic default errno (e.g. "ENOSYS"). */
  defaultErrno?: string;
  architectures?: string[];
  archMap?: ArchMapEntry[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: SyscallRule[] | null;
}

/** The names a rule applies to, whichever field holds them. */
export function ruleNames(rule: SyscallRule): string[] {
  if (rule.names && rule.names.length > 0) return rule.names;
  return rule.name !== undefined ? [rule.name] : (rule.names ?? []);
}
