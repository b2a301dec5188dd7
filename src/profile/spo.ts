/**
 * The Security Profiles Operator's SeccompProfile object (security-profiles-operator.x-k8s.io/v1):
 * parse (YAML, one or more documents) and serialise (deterministic YAML).
 */
import { createRequire } from 'node:module';
import type { Node } from 'yaml';

/**
 * The yaml package, loaded on first use: it is most of the CLI's start-up time, and most
 * commands never read or write YAML.
 */
let yamlModule: typeof import('yaml') | undefined;
function yaml(): typeof import('yaml') {
  yamlModule ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yamlModule;
}

import { type Issue, IssueList, sortIssues } from './issues.js';
import { locate, type OffsetLookup } from './json-reader.js';
import { type JsonEntry, type JsonNode, positionAt } from './json-source.js';
import type { Profile } from './model.js';
import { parseDockerNode } from './parse-docker.js';
import { closest } from './suggest.js';

export const SPO_GROUP = 'security-profiles-operator.x-k8s.io';
/**
 * The SeccompProfile versions: the current CRD serves v1 (stored) and v1beta1 with the same spec
 * (test/fixtures/schemas); v1beta1 is served by every operator release since 0.4, v1 only by the
 * recent ones. sysfence reads both and writes v1beta1 unless told (`--spo-version v1`): what every
 * cluster with the operator accepts.
 */
export const SPO_VERSIONS = ['v1beta1', 'v1'] as const;
export type SpoVersion = (typeof SPO_VERSIONS)[number];
export const SPO_DEFAULT_VERSION: SpoVersion = 'v1beta1';
export const SPO_API_VERSION = `${SPO_GROUP}/${SPO_DEFAULT_VERSION}`;
export const SPO_READ_VERSIONS = SPO_VERSIONS.map((v) => `${SPO_GROUP}/${v}`);
export const SPO_KIND = 'SeccompProfile';
/** A Kubernetes object's fields, and ObjectMeta's (k8s.io/apimachinery): anything else is pruned. */
const TOP_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
const METADATA_FIELDS = [
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
];
const SPEC_FIELDS = [
  'architectures',
  'baseProfileName',
  'defaultAction',
  'flags',
  'listenerMetadata',
  'listenerPath',
  'state',
  'syscalls',
];
const SPO_ARCHES = new Set([
  'SCMP_ARCH_NATIVE',
  'SCMP_ARCH_X86',
  'SCMP_ARCH_X86_64',
  'SCMP_ARCH_X32',
  'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
  'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64',
]);
const INT64_MAX = (1n << 63n) - 1n;

export interface SpoObject {
  name: string;
  /** The version written (read: the object's own); default SPO_DEFAULT_VERSION. */
  apiVersion?: SpoVersion;
  namespace?: string;
  annotations?: Record<string, string>;
  baseProfileName?: string;
  state?: string;
  profile: Profile;
}

export interface SpoParseResult {
  objects: SpoObject[];
  issues: Issue[];
  /** Per object: offsets of the spec's JSON paths (rooted at `$`), to locate later issues. */
  offsets: OffsetLookup[];
}

/** YAML nodes an alias may expand to, in all (a billion-laughs document stops here). */
export const MAX_ALIAS_NODES = 100_000;

class AliasBomb extends Error {}
class UnknownAlias extends Error {
  constructor(
    readonly alias: string,
    readonly offset: number,
  ) {
    super(`alias *${alias} names no anchor (&${alias}) before it`);
  }
}

/**
 * A plain scalar Kubernetes reads otherwise than YAML 1.2 does: the API server's YAML is 1.1
 * (go-yaml), where 010 is octal 8, yes/no/on/off are booleans, 1:30 is sexagesimal 90, 0b101 and
 * 1_000 are numbers, and 0o17 is a string. Refused with what each reads, never guessed.
 */
class YamlVersionAmbiguous extends Error {
  constructor(
    readonly source: string,
    readonly offset: number,
    why: string,
  ) {
    super(`"${source}" ${why}: write it so both read the same (a plain decimal number, or a quoted string)`);
  }
}

/** How YAML 1.1 (Kubernetes) and YAML 1.2 read a plain scalar differently, or undefined. */
function versionDifference(source: string): string | undefined {
  if (/^[-+]?0[0-9]+$/.test(source))
    return /[89]/.test(source)
      ? 'is a decimal number in YAML 1.2 but not a number for Kubernetes (YAML 1.1 reads a leading 0 as octal)'
      : `is ${Number.parseInt(source, 10)} in YAML 1.2 but ${Number.parseInt(source, 8)} for Kubernetes (YAML 1.1 reads a leading 0 as octal)`;
  if (/^[-+]?0o[0-7]+$/.test(source))
    return 'is an octal number in YAML 1.2 but a string for Kubernetes (YAML 1.1)';
  if (/^[-+]?0b[01_]+$/.test(source))
    return 'is a binary number for Kubernetes (YAML 1.1) but a string in YAML 1.2';
  if (/^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+$/.test(source))
    return 'is a sexagesimal number for Kubernetes (YAML 1.1) but a string in YAML 1.2';
  if (/^[-+]?[0-9][0-9]*_[0-9_]*$/.test(source))
    return 'is a number for Kubernetes (YAML 1.1) but a string in YAML 1.2';
  if (/^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/.test(source))
    return 'is a boolean for Kubernetes (YAML 1.1) but a string in YAML 1.2';
  return undefined;
}

interface Expansion {
  doc: import('yaml').Document;
  /** Nodes produced through aliases so far. */
  viaAlias: number;
  depth: number;
}

/**
 * Converts a YAML node to the positioned JSON tree the Docker parser reads. Aliases (`*name`) are
 * resolved to their anchor's node, as Kubernetes does (a rule's `names: *list` is that list, not
 * nothing), bounded: past MAX_ALIAS_NODES expanded nodes the document is refused.
 */
function toJsonNode(
  node: Node | null | undefined,
  fallback: number,
  x: Expansion,
  inAlias = false,
): JsonNode {
  const offset = node?.range?.[0] ?? fallback;
  if (!node) return { kind: 'null', offset };
  const { isAlias, isMap, isScalar, isSeq } = yaml();
  if (inAlias && ++x.viaAlias > MAX_ALIAS_NODES) throw new AliasBomb();
  if (isAlias(node)) {
    if (++x.depth > 64) throw new AliasBomb();
    const target = node.resolve(x.doc) as Node | undefined;
    // an alias to no anchor would read as null, and a rule would lose its names: refused
    if (!target) throw new UnknownAlias(String(node.source), offset);
    const out = toJsonNode(target, offset, x, true);
    x.depth--;
    // positions point at the alias, where the reader wrote it
    return { ...out, offset };
  }
  if (isMap(node)) {
    const entries: JsonEntry[] = node.items.map((pair) => {
      const k = pair.key as Node | null;
      const key = isScalar(k) ? String(k.value) : String(k);
      const keyOffset = (k as Node | null)?.range?.[0] ?? offset;
      return { key, keyOffset, value: toJsonNode(pair.value as Node | null, keyOffset, x, inAlias) };
    });
    return { kind: 'object', entries, offset };
  }
  if (isSeq(node))
    return { kind: 'array', items: node.items.map((i) => toJsonNode(i as Node, offset, x, inAlias)), offset };
  if (isScalar(node)) {
    const v = node.value;
    const source = node.type === 'PLAIN' && typeof node.source === 'string' ? node.source : undefined;
    if (source !== undefined) {
      const why = versionDifference(source);
      if (why) throw new YamlVersionAmbiguous(source, offset, why);
    }
    if (v === null || v === undefined) return { kind: 'null', offset };
    // a number as written (1e-400, 1.5: not an integer; the profile reader says so), not as
    // JavaScript rounds it; decimal and hexadecimal integers read alike everywhere
    if (typeof v === 'bigint' || typeof v === 'number')
      return {
        kind: 'number',
        text:
          source !== undefined && !/^[-+]?(0|[1-9][0-9]*|0x[0-9a-fA-F]+)$/.test(source) ? source : String(v),
        offset,
      };
    if (typeof v === 'boolean') return { kind: 'boolean', value: v, offset };
    return { kind: 'string', value: String(v), offset };
  }
  return { kind: 'null', offset };
}

export function parseSpo(text: string): SpoParseResult {
  const issues: Issue[] = [];
  const objects: SpoObject[] = [];
  const offsetsList: OffsetLookup[] = [];
  const docs = yaml().parseAllDocuments(text, { intAsBigInt: true, uniqueKeys: false });
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, di) => {
    const base = `$[${di}]`;
    for (const e of doc.errors) {
      issues.push({
        code: 'yaml-syntax',
        severity: 'error',
        message: e.message.split('\n')[0] ?? e.message,
        path: base,
        position: positionAt(text, e.pos[0]),
      });
    }
    if (doc.errors.length > 0 || doc.contents === null) return;
    let root: JsonNode;
    try {
      root = toJsonNode(doc.contents as Node, 0, { doc, viaAlias: 0, depth: 0 });
    } catch (e) {
      if (e instanceof UnknownAlias) {
        issues.push({
          code: 'yaml-alias-unknown',
          severity: 'error',
          message: e.message,
          path: base,
          position: positionAt(text, e.offset),
        });
        return;
      }
      if (e instanceof YamlVersionAmbiguous) {
        issues.push({
          code: 'yaml-version-ambiguous',
          severity: 'error',
          message: e.message,
          path: base,
          position: positionAt(text, e.offset),
        });
        return;
      }
      if (!(e instanceof AliasBomb)) throw e;
      issues.push({
        code: 'yaml-alias-bomb',
        severity: 'error',
        message: `the document's aliases expand to more than ${MAX_ALIAS_NODES} nodes (or nest more than 64 deep): refused`,
        path: base,
        position: positionAt(text, 0),
      });
      return;
    }
    const at = (o: number) => positionAt(text, o);
    if (root.kind === 'null') return; // an empty document (comments only): no object
    if (root.kind !== 'object') {
      issues.push({
        code: 'wrong-type',
        severity: 'error',
        message: 'expected a SeccompProfile object',
        path: base,
        position: at(root.offset),
      });
      return;
    }
    const get = (n: JsonNode, k: string) =>
      n.kind === 'object' ? n.entries.find((e) => e.key === k)?.value : undefined;
    const str = (n: JsonNode | undefined) => (n?.kind === 'string' ? n.value : undefined);
    const apiVersion = str(get(root, 'apiVersion'));
    const kind = str(get(root, 'kind'));
    if (kind !== SPO_KIND || apiVersion === undefined || !SPO_READ_VERSIONS.includes(apiVersion)) {
      issues.push({
        code: 'not-seccompprofile',
        severity: 'error',
        message: `expected apiVersion ${SPO_READ_VERSIONS.join(' or ')} and kind ${SPO_KIND}, found ${apiVersion ?? '(none)'} ${kind ?? '(none)'}`,
        path: base,
        position: at(root.offset),
      });
      return;
    }
    // what the API server keeps: an unknown field is pruned there (rules under metadata: gone)
    const fieldCheck = (n: JsonNode | undefined, known: readonly string[], where: string) => {
      if (n?.kind !== 'object') return;
      for (const e of n.entries)
        if (!known.includes(e.key)) {
          const guess = closest(e.key, known);
          issues.push({
            code: 'unknown-field',
            severity: 'error',
            message: `unknown field "${e.key}" in ${where}: the API server drops it${guess ? `; did you mean "${guess}"?` : ''}`,
            path: `${base}${where === 'the object' ? '' : `.${where}`}.${e.key}`,
            position: at(e.keyOffset),
          });
        }
    };
    fieldCheck(root, TOP_FIELDS, 'the object');
    const meta = get(root, 'metadata');
    fieldCheck(meta, METADATA_FIELDS, 'metadata');
    const name = str(get(meta ?? root, 'name'));
    if (!name)
      issues.push({
        code: 'missing-field',
        severity: 'error',
        message: 'metadata.name is missing',
        path: `${base}.metadata`,
        position: at((meta ?? root).offset),
      });
    const spec = get(root, 'spec');
    if (spec?.kind !== 'object') {
      issues.push({
        code: 'missing-field',
        severity: 'error',
        message: 'spec is missing',
        path: `${base}.spec`,
        position: at(root.offset),
      });
      return;
    }
    const il = new IssueList();
    const offsets = new Map<string, number>();
    const kept: JsonEntry[] = [];
    const obj: Partial<SpoObject> = {};
    for (const e of spec.entries) {
      if (!SPEC_FIELDS.includes(e.key)) {
        const guess = closest(e.key, SPEC_FIELDS);
        offsets.set(`${base}.spec.${e.key}`, e.keyOffset);
        il.error(
          'unknown-field',
          `${base}.spec.${e.key}`,
          `unknown field "${e.key}" in a SeccompProfile spec`,
          guess ? `did you mean "${guess}"?` : undefined,
        );
      } else if (e.key === 'baseProfileName' && e.value.kind === 'string')
        obj.baseProfileName = e.value.value;
      else if (e.key === 'state' && e.value.kind === 'string') obj.state = e.value.value;
      else kept.push(e);
    }
    const r = parseDockerNode({ kind: 'object', entries: kept, offset: spec.offset }, text);
    const prefix = (p: string) => p.replace(/^\$/, `${base}.spec`);
    for (const i of r.issues) issues.push({ ...i, path: prefix(i.path) });
    for (const i of il.items) issues.push(locate(i, offsets, text));
    if (r.profile && name) {
      const o: SpoObject = {
        name,
        apiVersion: apiVersion.slice(SPO_GROUP.length + 1) as SpoVersion,
        profile: r.profile,
      };
      const ns = str(get(meta ?? root, 'namespace'));
      if (ns) o.namespace = ns;
      const ann = get(meta ?? root, 'annotations');
      if (ann?.kind === 'object')
        o.annotations = Object.fromEntries(
          ann.entries
            .filter((e) => e.value.kind === 'string')
            .map((e) => [e.key, (e.value as { value: string }).value]),
        );
      if (obj.baseProfileName) o.baseProfileName = obj.baseProfileName;
      if (obj.state) o.state = obj.state;
      objects.push(o);
      offsetsList.push(r.offsets);
    }
  });
  return { objects, issues: sortIssues(issues), offsets: offsetsList };
}

export interface SpoSerializeResult {
  text: string;
  /** What the SPO object cannot carry; an error means the output would behave differently. */
  issues: Issue[];
}

/** Deterministic YAML for one or more SeccompProfile objects (one document each). */
export function serializeSpo(objects: readonly SpoObject[]): SpoSerializeResult {
  const il = new IssueList();
  const parts = objects.map((o, oi) => {
    const p = o.profile;
    const path = `$[${oi}].spec`;
    if (p.archMap)
      il.error(
        'spo-unresolved',
        `${path}.archMap`,
        'SeccompProfile has no archMap: resolve the profile for an architecture first',
      );
    if (p.defaultErrnoRet !== undefined && p.defaultErrnoRet !== 1)
      il.warn(
        'spo-default-errno',
        `${path}.defaultErrnoRet`,
        `SeccompProfile v1 has no defaultErrnoRet: unlisted syscalls will fail with EPERM instead of errno ${p.defaultErrnoRet}`,
        'list the syscalls that must fail with ENOSYS explicitly, or use the Localhost profile file (--format k8s)',
      );
    if (
      p.listenerPath !== undefined &&
      !/^\/var\/run\/security-profiles-operator\/[a-zA-Z0-9_\-.]+$/.test(p.listenerPath)
    )
      il.error(
        'spo-listener-path',
        `${path}.listenerPath`,
        'the operator only accepts listener paths under /var/run/security-profiles-operator/',
      );
    for (const a of p.architectures ?? [])
      if (!SPO_ARCHES.has(a))
        il.error('spo-arch', `${path}.architectures`, `SeccompProfile v1 does not accept ${a}`);
    const spec: Record<string, unknown> = {};
    if (p.architectures) spec.architectures = [...p.architectures];
    if (o.baseProfileName) spec.baseProfileName = o.baseProfileName;
    spec.defaultAction = p.defaultAction;
    if (p.flags) spec.flags = [...p.flags];
    if (p.listenerMetadata !== undefined) spec.listenerMetadata = p.listenerMetadata;
    if (p.listenerPath !== undefined) spec.listenerPath = p.listenerPath;
    if (o.state) spec.state = o.state;
    if (p.syscalls && p.syscalls.length > 0)
      spec.syscalls = p.syscalls.map((r, ri) => {
        const rp = `${path}.syscalls[${ri}]`;
        if (r.includes || r.excludes)
          il.error(
            'spo-unresolved',
            rp,
            'SeccompProfile has no includes/excludes: resolve the profile first',
          );
        const names = r.name !== undefined ? [r.name, ...(r.names ?? [])] : [...(r.names ?? [])];
        const rule: Record<string, unknown> = { action: r.action };
        if (r.args && r.args.length > 0)
          rule.args = r.args.map((a, ai) => {
            for (const [k, v] of [
              ['value', a.value],
              ['valueTwo', a.valueTwo],
            ] as const)
              if (v !== undefined && v > INT64_MAX)
                il.error(
                  'spo-value-range',
                  `${rp}.args[${ai}].${k}`,
                  `SeccompProfile stores ${k} as int64; ${v} does not fit`,
                );
            const arg: Record<string, unknown> = { index: a.index, op: a.op, value: a.value };
            if (a.valueTwo !== undefined) arg.valueTwo = a.valueTwo;
            return arg;
          });
        const errno = r.errnoRet;
        if (errno !== undefined) rule.errnoRet = errno;
        rule.names = names;
        return rule;
      });
    const metadata: Record<string, unknown> = { name: o.name };
    if (o.namespace) metadata.namespace = o.namespace;
    if (o.annotations && Object.keys(o.annotations).length > 0)
      metadata.annotations = Object.fromEntries(
        Object.entries(o.annotations).sort(([a], [b]) => (a < b ? -1 : 1)),
      );
    const { Document, Scalar } = yaml();
    const doc = new Document({
      apiVersion: `${SPO_GROUP}/${o.apiVersion ?? SPO_DEFAULT_VERSION}`,
      kind: SPO_KIND,
      metadata,
      spec,
    });
    // Keep the profile's own strings plain and numbers exact.
    return doc.toString({ lineWidth: 0, indentSeq: false, defaultStringType: Scalar.PLAIN });
  });
  return { text: parts.map((p) => `---\n${p}`).join(''), issues: il.items };
}
