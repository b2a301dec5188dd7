/**
 * Docker / OCI seccomp JSON -> Profile, with every structural problem reported at once (code, JSON
 * path, line:column). Semantic checks (syscall names, conflicts) live in validate.ts.
 */

import { type Issue, sortIssues } from './issues.js';
import { locate, type OffsetLookup, Reader } from './json-reader.js';
import { type JsonNode, JsonSyntaxError, parseJson, positionAt } from './json-source.js';
import {
  ACTIONS,
  type ActionName,
  type ArchMapEntry,
  type ArgCondition,
  OPERATORS,
  type Operator,
  type Profile,
  type RuleFilter,
  type SyscallRule,
} from './model.js';
import { closest } from './suggest.js';

const TOP_FIELDS = [
  'defaultAction',
  'defaultErrnoRet',
  'defaultErrno',
  'architectures',
  'archMap',
  'flags',
  'listenerPath',
  'listenerMetadata',
  'syscalls',
];
const ARCHMAP_FIELDS = ['architecture', 'subArchitectures'];
const RULE_FIELDS = [
  'name',
  'names',
  'action',
  'errnoRet',
  'errno',
  'args',
  'comment',
  'includes',
  'excludes',
];
const ARG_FIELDS = ['index', 'value', 'valueTwo', 'op'];
const FILTER_FIELDS = ['caps', 'arches', 'minKernel'];
const U64_MAX = (1n << 64n) - 1n;

export interface ParseResult {
  /** The profile, when the input had the shape of one (even with issues). */
  profile: Profile | undefined;
  issues: Issue[];
  /** JSON path -> character offset of the value, for locating later (semantic) issues. */
  offsets: OffsetLookup;
  /** Path prefix of the profile inside the document (`$` or `$.linux.seccomp` for an OCI config). */
  root: string;
}

function parseFilter(r: Reader, path: string, node: JsonNode): RuleFilter | undefined {
  if (node.kind !== 'object') {
    r.typeError(path, node, 'an object');
    return undefined;
  }
  const f = r.fields(path, node, FILTER_FIELDS, path.endsWith('includes') ? 'includes' : 'excludes');
  const out: RuleFilter = {};
  const caps = r.strings(`${path}.caps`, f.get('caps')?.value);
  if (caps) out.caps = caps;
  const arches = r.strings(`${path}.arches`, f.get('arches')?.value);
  if (arches) out.arches = arches;
  const mk = r.string(`${path}.minKernel`, f.get('minKernel')?.value);
  if (mk !== undefined) out.minKernel = mk;
  return out;
}

function parseArg(r: Reader, path: string, node: JsonNode): ArgCondition {
  if (node.kind !== 'object') {
    r.typeError(path, node, 'an object');
    return { index: 0, value: 0n, op: 'SCMP_CMP_EQ' };
  }
  const f = r.fields(path, node, ARG_FIELDS, 'an argument condition');
  const idxNode = f.get('index')?.value;
  let index: number | undefined;
  if (!idxNode) r.issues.error('missing-field', path, 'argument condition has no "index"');
  else {
    const v = r.uint(`${path}.index`, idxNode, U64_MAX, 'argument index', 'arg-index-range');
    if (v !== undefined && v > 5n)
      r.issues.error(
        'arg-index-range',
        `${path}.index`,
        `argument index ${v} is outside 0..5 (a syscall has six arguments)`,
      );
    else if (v !== undefined) index = Number(v);
  }
  const valNode = f.get('value')?.value;
  if (!valNode) r.issues.error('missing-field', path, 'argument condition has no "value"');
  const value = r.uint(`${path}.value`, valNode, U64_MAX, 'value', 'value-range');
  const valueTwo = r.uint(`${path}.valueTwo`, f.get('valueTwo')?.value, U64_MAX, 'valueTwo', 'value-range');
  const opNode = f.get('op')?.value;
  let op: Operator | undefined;
  if (!opNode) r.issues.error('missing-field', path, 'argument condition has no "op"');
  else {
    const s = r.string(`${path}.op`, opNode);
    if (s !== undefined) {
      if ((OPERATORS as readonly string[]).includes(s)) op = s as Operator;
      else {
        const guess = closest(s, OPERATORS);
        r.issues.error(
          'unknown-operator',
          `${path}.op`,
          `unknown operator "${s}"`,
          guess ? `did you mean "${guess}"?` : `operators: ${OPERATORS.join(', ')}`,
        );
      }
    }
  }
  // An invalid condition is kept as a placeholder (its issues are reported) so indices stay aligned.
  const arg: ArgCondition = { index: index ?? 0, value: value ?? 0n, op: op ?? 'SCMP_CMP_EQ' };
  if (valueTwo !== undefined) arg.valueTwo = valueTwo;
  return arg;
}

function parseAction(
  r: Reader,
  path: string,
  node: JsonNode | undefined,
  what: string,
): ActionName | undefined {
  if (!node) {
    r.issues.error('missing-field', path.slice(0, path.lastIndexOf('.')), `${what} has no "action"`);
    return undefined;
  }
  const s = r.string(path, node);
  if (s === undefined) return undefined;
  if ((ACTIONS as readonly string[]).includes(s)) return s as ActionName;
  const guess = closest(s, ACTIONS);
  r.issues.error(
    'unknown-action',
    path,
    `unknown action "${s}"`,
    guess ? `did you mean "${guess}"?` : `actions: ${ACTIONS.join(', ')}`,
  );
  return undefined;
}

function parseRule(r: Reader, path: string, node: JsonNode): SyscallRule {
  if (node.kind !== 'object') {
    r.typeError(path, node, 'an object');
    return { names: [], action: 'SCMP_ACT_ERRNO' };
  }
  const f = r.fields(path, node, RULE_FIELDS, 'a syscall rule');
  const action = parseAction(r, `${path}.action`, f.get('action')?.value, 'syscall rule');
  const rule: SyscallRule = { action: action ?? 'SCMP_ACT_ERRNO' };
  const name = r.string(`${path}.name`, f.get('name')?.value);
  if (name !== undefined) rule.name = name;
  const names = r.strings(`${path}.names`, f.get('names')?.value, true);
  if (names) rule.names = names;
  if (f.has('name') && f.has('names'))
    r.issues.error(
      'name-and-names',
      `${path}.name`,
      'a rule has both "name" and "names"; Docker refuses such a profile',
      'move the name into "names"',
    );
  if (!f.has('name') && !f.has('names'))
    r.issues.error('missing-field', path, 'a syscall rule has neither "names" nor "name"');
  else if (name === undefined && names === null)
    // Go reads null as no list: Docker and runc then drop the rule without a word
    r.issues.error(
      'empty-names',
      `${path}.names`,
      '"names" is null: the rule matches no call (Docker drops it without a word)',
      'list the calls, or remove the rule',
    );
  else if (name === undefined && names !== undefined && names !== null && names.length === 0)
    r.issues.error('empty-names', `${path}.names`, 'a rule with an empty "names" list matches nothing');
  const errnoRet = r.uint(`${path}.errnoRet`, f.get('errnoRet')?.value, 0xffffn, 'errnoRet', 'errno-range');
  if (errnoRet !== undefined) rule.errnoRet = Number(errnoRet);
  const errno = r.string(`${path}.errno`, f.get('errno')?.value);
  if (errno !== undefined) rule.errno = errno;
  const argsNode = f.get('args')?.value;
  if (argsNode) {
    if (argsNode.kind === 'null') rule.args = null;
    else if (argsNode.kind !== 'array') r.typeError(`${path}.args`, argsNode, 'an array');
    else {
      rule.args = [];
      argsNode.items.forEach((item, i) => {
        const p = `${path}.args[${i}]`;
        r.at(p, item);
        rule.args!.push(parseArg(r, p, item));
      });
    }
  }
  const comment = r.string(`${path}.comment`, f.get('comment')?.value);
  if (comment !== undefined) rule.comment = comment;
  for (const key of ['includes', 'excludes'] as const) {
    const n = f.get(key)?.value;
    if (!n) continue;
    const fl = parseFilter(r, `${path}.${key}`, n);
    if (fl) rule[key] = fl;
  }
  // A rule with a bad action is kept (the issue says why) so that later paths keep their indices.
  return rule;
}

/** Parses a Docker/OCI profile (or a whole OCI config.json holding one at linux.seccomp). */
export function parseDockerProfile(text: string): ParseResult {
  let rootNode: JsonNode;
  try {
    rootNode = parseJson(text);
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    return {
      profile: undefined,
      issues: [
        {
          code: 'json-syntax',
          severity: 'error',
          message: e.message,
          path: '$',
          position: positionAt(text, e.offset),
        },
      ],
      offsets: new Map(),
      root: '$',
    };
  }
  return parseDockerNode(rootNode, text);
}

export function parseDockerNode(rootNode: JsonNode, text: string | undefined): ParseResult {
  const r = new Reader();
  let root = '$';
  let node = rootNode;
  // A whole OCI runtime config: the profile is at linux.seccomp.
  if (node.kind === 'object' && node.entries.some((e) => e.key === 'ociVersion')) {
    const linux = node.entries.find((e) => e.key === 'linux')?.value;
    const sec = linux?.kind === 'object' ? linux.entries.find((e) => e.key === 'seccomp')?.value : undefined;
    if (!sec) {
      r.issues.error('missing-field', '$.linux', 'this OCI config has no linux.seccomp profile');
      return finish(r, undefined, text, root);
    }
    root = '$.linux.seccomp';
    node = sec;
  }
  r.at(root, node);
  if (node.kind !== 'object') {
    r.typeError(root, node, 'a JSON object (a seccomp profile)');
    return finish(r, undefined, text, root);
  }
  const f = r.fields(root, node, TOP_FIELDS, 'the profile');
  const defaultAction = parseAction(r, `${root}.defaultAction`, f.get('defaultAction')?.value, 'the profile');
  const profile: Profile = { defaultAction: defaultAction ?? 'SCMP_ACT_ERRNO' };
  const der = r.uint(
    `${root}.defaultErrnoRet`,
    f.get('defaultErrnoRet')?.value,
    0xffffn,
    'defaultErrnoRet',
    'errno-range',
  );
  if (der !== undefined) profile.defaultErrnoRet = Number(der);
  const de = r.string(`${root}.defaultErrno`, f.get('defaultErrno')?.value);
  if (de !== undefined) profile.defaultErrno = de;
  const arches = r.strings(`${root}.architectures`, f.get('architectures')?.value);
  if (arches) profile.architectures = arches;
  const amNode = f.get('archMap')?.value;
  if (amNode) {
    if (amNode.kind !== 'array') r.typeError(`${root}.archMap`, amNode, 'an array');
    else {
      profile.archMap = [];
      amNode.items.forEach((item, i) => {
        const p = `${root}.archMap[${i}]`;
        r.at(p, item);
        if (item.kind !== 'object') {
          r.typeError(p, item, 'an object');
          return;
        }
        const af = r.fields(p, item, ARCHMAP_FIELDS, 'an archMap entry');
        const architecture = r.string(`${p}.architecture`, af.get('architecture')?.value);
        if (!af.has('architecture'))
          r.issues.error('missing-field', p, 'archMap entry has no "architecture"');
        const sub = r.strings(`${p}.subArchitectures`, af.get('subArchitectures')?.value, true);
        if (architecture !== undefined) {
          const e: ArchMapEntry = { architecture, subArchitectures: sub ?? null };
          profile.archMap!.push(e);
        }
      });
    }
  }
  const flags = r.strings(`${root}.flags`, f.get('flags')?.value);
  if (flags) profile.flags = flags;
  const lp = r.string(`${root}.listenerPath`, f.get('listenerPath')?.value);
  if (lp !== undefined) profile.listenerPath = lp;
  const lm = r.string(`${root}.listenerMetadata`, f.get('listenerMetadata')?.value);
  if (lm !== undefined) profile.listenerMetadata = lm;
  const scNode = f.get('syscalls')?.value;
  if (scNode) {
    if (scNode.kind === 'null') profile.syscalls = null;
    else if (scNode.kind !== 'array') r.typeError(`${root}.syscalls`, scNode, 'an array');
    else {
      profile.syscalls = [];
      scNode.items.forEach((item, i) => {
        const p = `${root}.syscalls[${i}]`;
        r.at(p, item);
        profile.syscalls!.push(parseRule(r, p, item));
      });
    }
  }
  if (!f.has('defaultAction') && defaultAction === undefined) {
    // parseAction already reported missing-field
  }
  return finish(r, profile, text, root);
}

function finish(
  r: Reader,
  profile: Profile | undefined,
  text: string | undefined,
  root: string,
): ParseResult {
  const issues = r.issues.items.map((i) => locate(i, r.offsets, text));
  return { profile, issues: sortIssues(issues), offsets: r.offsets, root };
}
