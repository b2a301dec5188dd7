// Round trips: every reference profile parses, validates with no errors or warnings, and
// serialises back byte-identically after normalisation (see normalise() for exactly what).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { loadProfileText } from '../../src/profile/load.js';
import { parseDockerProfile } from '../../src/profile/parse-docker.js';
import { resolve } from '../../src/profile/resolve.js';
import { serializeDocker } from '../../src/profile/serialize-docker.js';
import { parseSpo, serializeSpo } from '../../src/profile/spo.js';
import { ociSeccompValidator, referenceFile, spoValidator } from '../helpers/schemas.js';

const PROFILES = [
  'docker-default.json',
  'podman-default.json',
  'docker-example.json',
  'docker-conditional-include.json',
];
const read = (f: string) => readFileSync(referenceFile(f), 'utf8');

/**
 * The normalisation: keys in sysfence's canonical order (the order of Docker's own profile), tab
 * indentation, a final newline. Values, array order and which keys are present are unchanged.
 */
const KEY_ORDER = [
  'defaultAction',
  'defaultErrnoRet',
  'defaultErrno',
  'architectures',
  'archMap',
  'architecture',
  'subArchitectures',
  'flags',
  'listenerPath',
  'listenerMetadata',
  'syscalls',
  'name',
  'names',
  'action',
  'errnoRet',
  'errno',
  'args',
  'index',
  'value',
  'valueTwo',
  'op',
  'comment',
  'includes',
  'excludes',
  'caps',
  'arches',
  'minKernel',
];
function normalise(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalise);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .sort(([a], [b]) => KEY_ORDER.indexOf(a) - KEY_ORDER.indexOf(b))
        .map(([k, x]) => [k, normalise(x)]),
    );
  return v;
}
const canonicalText = (text: string) => `${JSON.stringify(normalise(JSON.parse(text)), null, '\t')}\n`;

// Docker's own test fixture uses errnoRet 12345, which libseccomp refuses (EINVAL; the oracle
// shows it): that one warning is expected and correct. Everything else validates with 0 issues.
const EXPECTED_PROBLEMS: Record<string, string[]> = {
  'docker-example.json': ['errno-refused-by-libseccomp $.syscalls[3].errnoRet'],
};

describe('Docker/OCI JSON round trip', () => {
  for (const f of PROFILES) {
    it(`${f}: validates as expected; serialize(parse(x)) == normalise(x) byte for byte`, () => {
      const text = read(f);
      const r = loadProfileText(text);
      expect(r.issues.filter((i) => i.severity !== 'info').map((i) => `${i.code} ${i.path}`)).toEqual(
        EXPECTED_PROBLEMS[f] ?? [],
      );
      const out = serializeDocker(r.profiles[0]!.profile);
      expect(out).toBe(canonicalText(text));
      // and a second trip is the identity
      expect(serializeDocker(parseDockerProfile(out).profile!)).toBe(out);
    });
  }

  it('docker-default.json is already in canonical order: only the final newline differs', () => {
    const text = read('docker-default.json');
    expect(serializeDocker(parseDockerProfile(text).profile!)).toBe(`${text}\n`);
  });

  it('keeps integers above 2^53 exact', () => {
    const text =
      '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["ioctl"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":18446744073709551615,"valueTwo":9007199254740993,"op":"SCMP_CMP_MASKED_EQ"}]}]}';
    const p = parseDockerProfile(text).profile!;
    expect(p.syscalls![0]!.args![0]!.value).toBe(18446744073709551615n);
    expect(p.syscalls![0]!.args![0]!.valueTwo).toBe(9007199254740993n);
    expect(serializeDocker(p)).toContain('"value": 18446744073709551615,\n');
    expect(serializeDocker(p)).toContain('"valueTwo": 9007199254740993,\n');
  });
});

describe('OCI output validates against the OCI runtime-spec schema', () => {
  const validate = ociSeccompValidator();
  for (const f of PROFILES) {
    for (const arch of ['x86_64', 'aarch64', 's390x']) {
      it(`${f} resolved for ${arch}`, () => {
        const p = parseDockerProfile(read(f)).profile!;
        const oci = JSON.parse(serializeDocker(resolve(p, { arch, kernelVersion: '6.1' })));
        const ok = validate(oci);
        expect(validate.errors ?? []).toEqual([]);
        expect(ok).toBe(true);
      });
    }
  }
  it('the schema rejects what it should (the validator is live)', () => {
    expect(validate({ defaultAction: 'SCMP_ACT_NOPE' })).toBe(false);
  });
});

describe('SPO SeccompProfile', () => {
  const validate = spoValidator();
  const spoText = read('spo-example-seccompprofile.yaml');

  it('parses the SPO example: every object, no issues', () => {
    const r = parseSpo(spoText);
    expect(r.issues).toEqual([]);
    expect(r.objects.map((o) => o.name)).toEqual(
      parseAllDocuments(spoText).map((d) => (d.toJS() as { metadata: { name: string } }).metadata.name),
    );
  });

  it('round-trips the SPO example object by object (as data: YAML layout is normalised)', () => {
    const r = parseSpo(spoText);
    const out = serializeSpo(r.objects);
    expect(out.issues).toEqual([]);
    const again = parseAllDocuments(out.text).map((d) => d.toJS());
    const orig = parseAllDocuments(spoText).map((d) => d.toJS());
    expect(again).toEqual(orig);
    expect(serializeSpo(parseSpo(out.text).objects).text).toBe(out.text);
  });

  for (const f of PROFILES) {
    it(`${f} as an SPO object validates against the CRD schema`, () => {
      const p = resolve(parseDockerProfile(read(f)).profile!, { arch: 'x86_64', kernelVersion: '6.1' });
      const out = serializeSpo([{ name: 'test-profile', profile: p }]);
      expect(out.issues.filter((i) => i.severity === 'error')).toEqual([]);
      const obj = parseYaml(out.text.replace(/^---\n/, ''));
      const ok = validate(obj);
      expect(validate.errors ?? []).toEqual([]);
      expect(ok).toBe(true);
    });
  }

  it('says what SPO cannot carry: an ENOSYS default', () => {
    const p = resolve(parseDockerProfile(read('podman-default.json')).profile!, {
      arch: 'x86_64',
      kernelVersion: '6.1',
    });
    const out = serializeSpo([{ name: 'podman', profile: p }]);
    expect(out.issues.map((i) => [i.code, i.severity, i.path])).toEqual([
      ['spo-default-errno', 'warning', '$[0].spec.defaultErrnoRet'],
    ]);
  });
});
