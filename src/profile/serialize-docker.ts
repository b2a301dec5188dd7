/** Profile -> Docker/OCI JSON, deterministic: a fixed key order and Docker's layout. */
import { type JsonValue, writeJson } from './json-writer.js';
import type { ArgCondition, Profile, RuleFilter, SyscallRule } from './model.js';

const filterJson = (f: RuleFilter | undefined): JsonValue | undefined =>
  f === undefined ? undefined : { caps: f.caps, arches: f.arches, minKernel: f.minKernel };

const argJson = (a: ArgCondition): JsonValue => ({
  index: a.index,
  value: a.value,
  valueTwo: a.valueTwo,
  op: a.op,
});

const ruleJson = (r: SyscallRule): JsonValue => ({
  name: r.name,
  names: r.names,
  action: r.action,
  errnoRet: r.errnoRet,
  errno: r.errno,
  args: r.args === null ? null : r.args?.map(argJson),
  comment: r.comment,
  includes: filterJson(r.includes),
  excludes: filterJson(r.excludes),
});

/** The profile as a plain JSON value, keys in sysfence's canonical order. */
export function profileToJson(p: Profile): JsonValue {
  return {
    defaultAction: p.defaultAction,
    defaultErrnoRet: p.defaultErrnoRet,
    defaultErrno: p.defaultErrno,
    architectures: p.architectures,
    archMap: p.archMap?.map((m) => ({ architecture: m.architecture, subArchitectures: m.subArchitectures })),
    flags: p.flags,
    listenerPath: p.listenerPath,
    listenerMetadata: p.listenerMetadata,
    syscalls: p.syscalls === null ? null : p.syscalls?.map(ruleJson),
  };
}

export interface SerializeOptions {
  /** Indentation unit; Docker's own profiles use a tab. */
  indent?: string;
}

/** Docker/OCI JSON text, ending in a newline. Same profile, same bytes. */
export function serializeDocker(p: Profile, opts: SerializeOptions = {}): string {
  return `${writeJson(profileToJson(p), opts.indent ?? '\t')}\n`;
}
