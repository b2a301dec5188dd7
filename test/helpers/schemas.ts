import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

/** The repository's test fixtures (third-party files vendored with their licences). */
const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
/** Docker's and Podman's defaults (data/profiles) and the other reference profiles, by file name. */
export function referenceFile(name: string): string {
  return ['docker-default.json', 'podman-default.json'].includes(name)
    ? join(import.meta.dirname, '..', '..', 'data', 'profiles', name)
    : join(FIXTURES, 'reference', name);
}

/** Validator for an OCI `linux.seccomp` object, from the OCI runtime-spec schema (test/fixtures/schemas). */
export function ociSeccompValidator(): ValidateFunction {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  for (const f of ['defs.json', 'defs-linux.json', 'config-linux.json'])
    ajv.addSchema(JSON.parse(readFileSync(join(FIXTURES, 'schemas', `oci-runtime-spec-${f}`), 'utf8')), f);
  return ajv.compile({ $ref: 'config-linux.json#/linux/properties/seccomp' });
}

/** Validator for a SeccompProfile object, from the SPO CRD's v1 OpenAPI schema (test/fixtures/schemas). */
export function spoValidator(): ValidateFunction {
  const crd = parse(readFileSync(join(FIXTURES, 'schemas', 'spo-seccompprofile-crd.yaml'), 'utf8'));
  const v1 = crd.spec.versions.find((v: { name: string }) => v.name === 'v1');
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  return ajv.compile(v1.schema.openAPIV3Schema);
}
