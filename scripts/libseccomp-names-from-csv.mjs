#!/usr/bin/env node
// Converts libseccomp's syscall table (src/syscalls.csv of a libseccomp source tree) into sysfence's
// data/libseccomp/names-<version>.json, for releases not installed here (the installed one is
// measured directly: scripts/oracle/libseccomp_names.py). The conversion is checked against the
// measurement: converting 2.5.4's own table gives exactly the measured file.
//   node scripts/libseccomp-names-from-csv.mjs SYSCALLS.CSV VERSION > data/libseccomp/names-VERSION.json
import { readFileSync } from 'node:fs';

const [csvPath, version] = process.argv.slice(2);
if (!csvPath || !version) {
  console.error('usage: libseccomp-names-from-csv.mjs SYSCALLS.CSV VERSION');
  process.exit(2);
}
// libseccomp's column names -> sysfence's ABI ids, with the number base libseccomp adds
const ABIS = {
  x86: ['x86', 0],
  x86_64: ['x86_64', 0],
  x32: ['x32', 0x40000000],
  arm: ['arm', 0],
  aarch64: ['aarch64', 0],
  loongarch64: ['loongarch64', 0],
  mips: ['mips', 4000],
  mips64: ['mips64', 5000],
  mips64n32: ['mips64n32', 6000],
  ppc: ['ppc', 0],
  ppc64: ['ppc64', 0],
  riscv64: ['riscv64', 0],
  s390: ['s390', 0],
  s390x: ['s390x', 0],
};
// ABIs sharing a column: little-endian twins and ppc64le
const TWINS = { mips: ['mipsel'], mips64: ['mipsel64'], mips64n32: ['mipsel64n32'], ppc64: ['ppc64le'] };
const lines = readFileSync(csvPath, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '');
const header = lines[0].replace(/^#/, '').split(',');
const cols = header.map((h, i) => ({ h, i })).filter(({ h }) => ABIS[h] !== undefined);
const arches = {};
for (const { h } of cols) {
  const [id] = ABIS[h];
  arches[id] = { numbers: {}, pseudo: [] };
  for (const t of TWINS[h] ?? []) arches[t] = arches[id];
}
for (const line of lines.slice(1)) {
  if (line.startsWith('#')) continue;
  const f = line.split(',');
  const name = f[0];
  for (const { h, i } of cols) {
    const [id, base] = ABIS[h];
    const v = f[i];
    if (v === 'PNR') arches[id].pseudo.push(name);
    else if (v !== undefined && /^\d+$/.test(v)) arches[id].numbers[name] = Number(v) + base;
  }
}
const sorted = (o) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
let out = `{\n "source": "libseccomp ${version} src/syscalls.csv, converted by scripts/libseccomp-names-from-csv.mjs",\n "version": "${version}",\n "arches": {\n`;
out += Object.keys(arches)
  .sort()
  .map(
    (a) =>
      `  "${a}": {"numbers": ${JSON.stringify(sorted(arches[a].numbers))}, "pseudo": ${JSON.stringify([...arches[a].pseudo].sort())}}`,
  )
  .join(',\n');
out += '\n }\n}\n';
process.stdout.write(out);
