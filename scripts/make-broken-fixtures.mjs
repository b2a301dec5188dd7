#!/usr/bin/env node
// Writes test/fixtures/broken/*.json: small profiles with exactly one defect each, and
// manifest.json naming the issue code and where it must be reported. The location is given as a
// marker: the first occurrence of `at` in the file (plus `skip` characters) is where the issue
// points, so the expected line:column comes from a plain text search, not from sysfence's parser.
import { mkdirSync, writeFileSync } from 'node:fs';

const dir = 'test/fixtures/broken';
mkdirSync(dir, { recursive: true });
const base = (over = {}) => {
  const p = {
    defaultAction: '"SCMP_ACT_ERRNO"',
    defaultErrnoRet: '1',
    architectures: '["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]',
    ...over.top,
  };
  const rules = over.rules ?? [
    '{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}',
    '{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}',
  ];
  const lines = Object.entries(p)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `  "${k}": ${v},`);
  return `{\n${lines.join('\n')}\n  "syscalls": [\n    ${rules.join(',\n    ')}\n  ]\n}\n`;
};
const R = (s) => s;
const cases = [
  ['json-trailing-comma', 'json-syntax', base().replace('"SCMP_ARCH_X86"]', '"SCMP_ARCH_X86",]'), ']', 0],
  [
    'json-missing-colon',
    'json-syntax',
    base().replace('"defaultErrnoRet": 1', '"defaultErrnoRet" 1'),
    ' 1,',
    1,
  ],
  [
    'json-unterminated-string',
    'json-syntax',
    '{\n  "defaultAction": "SCMP_ACT_ERRNO\n}\n',
    '"SCMP_ACT_ERRNO',
    0,
  ],
  ['json-trailing-garbage', 'json-syntax', `${base()}x\n`, 'x\n', 0],
  ['json-single-quotes', 'json-syntax', base().replace('"defaultErrnoRet"', "'defaultErrnoRet'"), "'", 0],
  ['unknown-field-top', 'unknown-field', base().replace('"syscalls"', '"syscals"'), '"syscals"', 0],
  [
    'unknown-field-rule',
    'unknown-field',
    base({ rules: ['{"nmaes": ["read"], "names": ["write"], "action": "SCMP_ACT_ALLOW"}'] }),
    '"nmaes"',
    0,
  ],
  [
    'unknown-field-arg',
    'unknown-field',
    base({
      rules: [
        '{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "vlaue": 9, "op": "SCMP_CMP_EQ"}]}',
      ],
    }),
    '"vlaue"',
    0,
  ],
  [
    'unknown-field-includes',
    'unknown-field',
    base({
      rules: ['{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"cap": ["CAP_SYS_ADMIN"]}}'],
    }),
    '"cap"',
    0,
  ],
  [
    'unknown-field-archmap',
    'unknown-field',
    base({
      top: {
        architectures: undefined,
        archMap: '[{"architecture": "SCMP_ARCH_X86_64", "subArchitecture": ["SCMP_ARCH_X86"]}]',
      },
    }),
    '"subArchitecture"',
    0,
  ],
  [
    'unknown-action-rule',
    'unknown-action',
    base({ rules: ['{"names": ["read"], "action": "SCMP_ACT_ALOW"}'] }),
    '"SCMP_ACT_ALOW"',
    0,
  ],
  [
    'unknown-action-default',
    'unknown-action',
    base({ top: { defaultAction: '"SCMP_ACT_DENY"' } }),
    '"SCMP_ACT_DENY"',
    0,
  ],
  [
    'unknown-operator',
    'unknown-operator',
    base({
      rules: [
        '{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQUAL"}]}',
      ],
    }),
    '"SCMP_CMP_EQUAL"',
    0,
  ],
  [
    'unknown-syscall-typo',
    'unknown-syscall',
    base({ rules: ['{"names": ["read", "wrtie"], "action": "SCMP_ACT_ALLOW"}'] }),
    '"wrtie"',
    0,
  ],
  [
    'unknown-syscall-name-field',
    'unknown-syscall',
    base({ rules: ['{"name": "opneat", "action": "SCMP_ACT_ALLOW"}'] }),
    '"opneat"',
    0,
  ],
  [
    'name-and-names',
    'name-and-names',
    base({ rules: ['{"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"}'] }),
    '"read"',
    0,
  ],
  [
    'archmap-and-architectures',
    'archmap-and-architectures',
    base({ top: { archMap: '[{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": null}]' } }),
    '[{"architecture"',
    0,
  ],
  [
    'arg-index-6',
    'arg-index-range',
    base({
      rules: [
        '{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 8, "op": "SCMP_CMP_EQ"}]}',
      ],
    }),
    '6, "value"',
    0,
  ],
  [
    'errnoret-too-big',
    'errno-range',
    base({ rules: ['{"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000}'] }),
    '70000',
    0,
  ],
  ['default-errnoret-too-big', 'errno-range', base({ top: { defaultErrnoRet: '65536' } }), '65536', 0],
  [
    'listener-metadata-alone',
    'listener-metadata-without-path',
    base({ top: { listenerMetadata: '"agent=1"' } }),
    '"agent=1"',
    0,
  ],
  [
    'contradictory-conditional',
    'contradictory-rules',
    base({
      rules: [
        '{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}',
        '{"names": ["personality"], "action": "SCMP_ACT_LOG", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}',
      ],
    }),
    '{"names": ["personality"], "action": "SCMP_ACT_LOG"',
    0,
  ],
  [
    'names-is-string',
    'wrong-type',
    base({ rules: ['{"names": "read", "action": "SCMP_ACT_ALLOW"}'] }),
    '"read"',
    0,
  ],
  ['action-is-number', 'wrong-type', base({ rules: ['{"names": ["read"], "action": 1}'] }), '1}', 0],
  [
    'args-is-object',
    'wrong-type',
    base({ rules: ['{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": {"index": 0}}'] }),
    '{"index": 0}',
    0,
  ],
  [
    'value-is-string',
    'wrong-type',
    base({
      rules: [
        '{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": "8", "op": "SCMP_CMP_EQ"}]}',
      ],
    }),
    '"8"',
    0,
  ],
  [
    'value-is-float',
    'wrong-type',
    base({
      rules: [
        '{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1.5, "op": "SCMP_CMP_EQ"}]}',
      ],
    }),
    '1.5',
    0,
  ],
  ['root-is-array', 'wrong-type', '[\n  {"defaultAction": "SCMP_ACT_ERRNO"}\n]\n', '[', 0],
  ['missing-default-action', 'missing-field', base({ top: { defaultAction: undefined } }), '{', 0],
  [
    'missing-rule-action',
    'missing-field',
    base({ rules: ['{"names": ["read"]}'] }),
    '{"names": ["read"]}',
    0,
  ],
  [
    'missing-rule-names',
    'missing-field',
    base({ rules: ['{"action": "SCMP_ACT_ALLOW"}'] }),
    '{"action": "SCMP_ACT_ALLOW"}',
    0,
  ],
  [
    'missing-arg-op',
    'missing-field',
    base({
      rules: ['{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8}]}'],
    }),
    '{"index": 0, "value": 8}',
    0,
  ],
  [
    'value-above-u64',
    'value-range',
    base({
      rules: [
        '{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 18446744073709551616, "op": "SCMP_CMP_EQ"}]}',
      ],
    }),
    '18446744073709551616',
    0,
  ],
  [
    'value-negative',
    'value-range',
    base({
      rules: [
        '{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]}',
      ],
    }),
    '-1',
    0,
  ],
  [
    'unknown-architecture',
    'unknown-arch',
    base({ top: { architectures: '["SCMP_ARCH_X86_64", "SCMP_ARCH_AMD64"]' } }),
    '"SCMP_ARCH_AMD64"',
    0,
  ],
  [
    'unknown-subarchitecture',
    'unknown-arch',
    base({
      top: {
        architectures: undefined,
        archMap: '[{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_I386"]}]',
      },
    }),
    '"SCMP_ARCH_I386"',
    0,
  ],
  [
    'unknown-include-arch',
    'unknown-arch',
    base({ rules: ['{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd46"]}}'] }),
    '"amd46"',
    0,
  ],
  [
    'unknown-flag',
    'unknown-flag',
    base({ top: { flags: '["SECCOMP_FILTER_FLAG_TSYNCH"]' } }),
    '"SECCOMP_FILTER_FLAG_TSYNCH"',
    0,
  ],
  [
    'unknown-errno',
    'unknown-errno',
    base({ rules: ['{"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "errno": "ENOSY"}'] }),
    '"ENOSY"',
    0,
  ],
  [
    'errno-mismatch',
    'errno-mismatch',
    base({ rules: ['{"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "errno": "EPERM"}'] }),
    '"EPERM"',
    0,
  ],
  ['default-errno-mismatch', 'errno-mismatch', base({ top: { defaultErrno: '"ENOSYS"' } }), '"ENOSYS"', 0],
  [
    'unknown-capability',
    'unknown-capability',
    base({
      rules: ['{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYSADMIN"]}}'],
    }),
    '"CAP_SYSADMIN"',
    0,
  ],
  [
    'bad-min-kernel',
    'bad-kernel-version',
    base({ rules: ['{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.x"}}'] }),
    '"4.x"',
    0,
  ],
  [
    'notify-as-default',
    'notify-default',
    base({
      top: {
        defaultAction: '"SCMP_ACT_NOTIFY"',
        defaultErrnoRet: undefined,
        listenerPath: '"/run/agent.sock"',
      },
    }),
    '"SCMP_ACT_NOTIFY"',
    0,
  ],
  [
    'notify-without-listener',
    'notify-without-listener',
    base({ rules: ['{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}'] }),
    '[\n',
    0,
  ],
  [
    'duplicate-key',
    'duplicate-key',
    base({ rules: ['{"names": ["read"], "action": "SCMP_ACT_ALLOW", "action": "SCMP_ACT_LOG"}'] }),
    '"action": "SCMP_ACT_LOG"',
    0,
  ],
  ['empty-names', 'empty-names', base({ rules: ['{"names": [], "action": "SCMP_ACT_ALLOW"}'] }), '[]', 0],
  [
    'errno-on-allow',
    'errno-ignored',
    base({ rules: ['{"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}'] }),
    '1}',
    0,
  ],
  [
    'valuetwo-on-eq',
    'valuetwo-ignored',
    base({
      rules: [
        '{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "valueTwo": 3, "op": "SCMP_CMP_EQ"}]}',
      ],
    }),
    '3, "op"',
    0,
  ],
  [
    'duplicate-architecture',
    'duplicate-arch',
    base({ top: { architectures: '["SCMP_ARCH_X86_64", "SCMP_ARCH_X86_64"]' } }),
    '"SCMP_ARCH_X86_64"]',
    0,
  ],
  [
    'duplicate-name-in-rule',
    'duplicate-name',
    base({ rules: ['{"names": ["read", "write", "read"], "action": "SCMP_ACT_ALLOW"}'] }),
    '"read"]',
    0,
  ],
  [
    'syscall-not-on-arch',
    'syscall-not-on-arch',
    base({
      top: { architectures: '["SCMP_ARCH_AARCH64"]' },
      rules: ['{"names": ["read", "arch_prctl"], "action": "SCMP_ACT_ALLOW"}'],
    }),
    '"arch_prctl"',
    0,
  ],
];
const manifest = [];
cases.forEach(([name, code, text, at, skip], i) => {
  const file = `${String(i + 1).padStart(2, '0')}-${name}.json`;
  if (!text.includes(at)) throw new Error(`${name}: marker ${JSON.stringify(at)} not in text`);
  writeFileSync(`${dir}/${file}`, text);
  manifest.push({ file, code, at, skip });
});
writeFileSync(`${dir}/manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`);
writeFileSync(
  `${dir}/README.md`,
  `# Broken profiles\n\nEach file has exactly one defect. \`manifest.json\` names the issue code sysfence must report\nand where: the first occurrence of \`at\` in the file, plus \`skip\` characters. Written by\n\`scripts/make-broken-fixtures.mjs\` from a small valid profile.\n`,
);
console.log(`wrote ${cases.length} broken profiles`);
void R;
