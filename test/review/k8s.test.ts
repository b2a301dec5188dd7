// Kubernetes outputs: --format k8s (a Localhost profile file and the pod-template patch pointing at
// it) checked against Kubernetes' own Pod and Deployment schemas (kubernetes-models), and
// --format spo against the SPO CRD schema.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Pod } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { findArch } from '../../src/arch/tables.js';
import { parseDockerProfile } from '../../src/profile/parse-docker.js';
import { importLogs } from '../../src/recorders/import.js';
import { serializeRecording } from '../../src/recording/recording.js';
import { sysfence, tempDir } from '../helpers/proc.js';
import { spoValidator } from '../helpers/schemas.js';

const fixture = join(import.meta.dirname, '..', 'fixtures', 'strace', 'c.log');

async function recordingFile(dir: string): Promise<string> {
  const file = join(dir, 'c.rec.json');
  writeFileSync(file, serializeRecording(await importLogs([fixture], { arch: findArch('x86_64')! })));
  return file;
}

describe('Kubernetes outputs', () => {
  it('--format k8s: the Localhost profile and a patch that makes valid Pods and Deployments', async () => {
    const dir = tempDir('sysfence-k8s-');
    const out = join(dir, 'web.json');
    const r = await sysfence(['generate', '--format', 'k8s', '-o', out, await recordingFile(dir)]);
    expect(r.status).toBe(0);
    expect(parseDockerProfile(readFileSync(out, 'utf8')).profile!.defaultErrnoRet).toBe(38);
    const patch = parse(readFileSync(join(dir, 'web.k8s.yaml'), 'utf8'));
    const sc = patch.spec.template.spec.securityContext;
    expect(sc).toEqual({ seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/web.json' } });
    const containers = [{ name: 'web', image: 'registry.example/web:1' }];
    const deployment = new Deployment({
      metadata: { name: 'web' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers, ...patch.spec.template.spec } },
      },
    });
    expect(() => deployment.validate()).not.toThrow();
    expect(() =>
      new Pod({ metadata: { name: 'web' }, spec: { containers, securityContext: sc } }).validate(),
    ).not.toThrow();
    // the schema check is real: a malformed securityContext is refused
    expect(() =>
      new Pod({
        metadata: { name: 'web' },
        spec: { containers, securityContext: { seccompProfile: { type: 5 } } },
      } as never).validate(),
    ).toThrow(/seccompProfile\/type must be string/);
  });

  it('--format k8s needs -o (two files)', async () => {
    const dir = tempDir('sysfence-k8s-');
    const r = await sysfence(['generate', '--format', 'k8s', await recordingFile(dir)]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--format k8s writes two files: give -o NAME.json');
  });

  it('--format spo: a SeccompProfile the SPO CRD schema accepts, with the ENOSYS rule explicit', async () => {
    const dir = tempDir('sysfence-k8s-');
    const r = await sysfence(['generate', '--format', 'spo', '--name', 'web', await recordingFile(dir)]);
    expect(r.status).toBe(0);
    const obj = parse(r.stdout);
    const validate = spoValidator();
    expect(validate(obj), JSON.stringify(validate.errors)).toBe(true);
    expect(obj.metadata.name).toBe('web');
    // SeccompProfile v1 has no defaultErrnoRet: the probed calls still get ENOSYS by rule
    expect(obj.spec.syscalls.find((s: { errnoRet?: number }) => s.errnoRet === 38).names).toContain(
      'faccessat2',
    );
  });
});
