/**
 * Profiles as OCI artifacts, in the layout Kubernetes is adopting (KEP-6061, "OCI artifact-based
 * security profile distribution") and the Security Profiles Operator writes (`spoc push` of an OCI
 * runtime-spec profile, internal/pkg/artifact in kubernetes-sigs/security-profiles-operator): an
 * OCI image manifest (v1.1) whose `artifactType` and config media type are
 * `application/vnd.cncf.seccomp-profile.config.v1+json`, whose config blob is `{}`, and whose one
 * layer is the profile as JSON (`application/json`, titled `profile.json`). Provenance goes into
 * manifest annotations. `org.opencontainers.image.created` is fixed (SOURCE_DATE_EPOCH, else the
 * epoch) so that the same profile always has the same digest.
 *
 * The client speaks the OCI distribution API over fetch: monolithic blob uploads, manifests by tag
 * or digest, Basic and Bearer (token) authentication. Everything pulled is checked against its
 * digest and size before it is used: a tampered blob or manifest is refused, never read.
 */
import { createHash } from 'node:crypto';
import { SysfenceError, printable as terminalSafe } from '../errors.js';

export const MEDIA_TYPE_PROFILE = 'application/vnd.cncf.seccomp-profile.config.v1+json';
export const MEDIA_TYPE_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_TYPE_LAYER = 'application/json';
export const LAYER_TITLE = 'profile.json';
const EMPTY_CONFIG = Buffer.from('{}');

/**
 * What sysfence reads from a registry, at most: a manifest (the distribution spec's 4 MiB), a
 * profile layer (the largest profile sysfence reads), an error or token answer; and how long one
 * request may take (SYSFENCE_REGISTRY_TIMEOUT seconds overrides it).
 */
export const REGISTRY_LIMITS = {
  manifest: 4 << 20,
  blob: 16 << 20,
  text: 64 << 10,
  timeoutMs: 30_000,
};

function timeoutMs(): number {
  const s = Number(process.env.SYSFENCE_REGISTRY_TIMEOUT);
  return Number.isFinite(s) && s > 0 ? s * 1000 : REGISTRY_LIMITS.timeoutMs;
}

/** Text a registry sent, safe for a terminal (control characters escaped), cut to `max`. */
export const printable = (text: string, max = 300): string => terminalSafe(text, max);

/** A response body read whole up to `limit` bytes (the rest is not read: the request is cut). */
async function readBody(res: Response, limit: number, what: string, where: string): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await res.body?.cancel().catch(() => {});
    throw new RegistryError(
      'registry-too-large',
      `${what} is ${declared} bytes, more than the ${limit} sysfence reads: refused`,
      where,
    );
  }
  const chunks: Uint8Array[] = [];
  let n = 0;
  const reader = res.body?.getReader();
  if (!reader) return new Uint8Array();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      n += value.length;
      if (n > limit) {
        await reader.cancel().catch(() => {});
        throw new RegistryError(
          'registry-too-large',
          `${what} goes past ${limit} bytes (more than it said, or more than sysfence reads): refused`,
          where,
        );
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof RegistryError) throw e;
    throw bodyError(e, what, where);
  }
  return Buffer.concat(chunks);
}

function bodyError(e: unknown, what: string, where: string): RegistryError {
  const name = (e as Error)?.name;
  if (name === 'TimeoutError' || name === 'AbortError')
    return new RegistryError(
      'registry-timeout',
      `${what}: no complete answer in ${timeoutMs() / 1000} s`,
      where,
    );
  return new RegistryError(
    'registry-unreachable',
    `${what}: the connection broke (${printable(String((e as Error)?.message ?? e))})`,
    where,
  );
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** A descriptor as the manifest holds it, checked field by field (JSON path in the message). */
function descriptor(v: unknown, path: string, where: string): Descriptor {
  const bad = (why: string) => new RegistryError('artifact-invalid', `the manifest's ${path} ${why}`, where);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('is not an object');
  const d = v as Record<string, unknown>;
  if (typeof d.mediaType !== 'string') throw bad('has no mediaType string');
  if (typeof d.digest !== 'string' || !DIGEST.test(d.digest)) throw bad('has no sha256 digest');
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw bad('has no size');
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.annotations !== undefined) out.annotations = stringMap(d.annotations, `${path}.annotations`, where);
  return out;
}

function stringMap(v: unknown, path: string, where: string): Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new RegistryError('artifact-invalid', `the manifest's ${path} is not an object`, where);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (typeof x !== 'string')
      throw new RegistryError('artifact-invalid', `the manifest's ${path}.${k} is not a string`, where);
    out[k] = x;
  }
  return out;
}

/** A manifest read from JSON, every field it is used for checked. */
export function parseManifest(bytes: Uint8Array, where: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new RegistryError('artifact-invalid', 'the manifest is not JSON', where);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new RegistryError('artifact-invalid', 'the manifest is not a JSON object', where);
  const m = raw as Record<string, unknown>;
  if (m.schemaVersion !== 2)
    throw new RegistryError(
      'artifact-invalid',
      `the manifest's schemaVersion is ${printable(JSON.stringify(m.schemaVersion) ?? 'missing')}, not 2`,
      where,
    );
  if (!Array.isArray(m.layers))
    throw new RegistryError('artifact-invalid', "the manifest's layers is not a list", where);
  const out: Manifest = {
    schemaVersion: 2,
    mediaType: typeof m.mediaType === 'string' ? m.mediaType : '',
    config: descriptor(m.config, 'config', where),
    layers: m.layers.map((l, i) => descriptor(l, `layers[${i}]`, where)),
  };
  if (typeof m.artifactType === 'string') out.artifactType = m.artifactType;
  if (m.annotations !== undefined) out.annotations = stringMap(m.annotations, 'annotations', where);
  return out;
}

export class RegistryError extends SysfenceError {
  constructor(code: string, message: string, location?: string, hint?: string) {
    super(code, message, location, hint);
    this.name = 'RegistryError';
  }
}

export interface Reference {
  registry: string;
  repository: string;
  /** A tag, or undefined when the reference is by digest. */
  tag?: string;
  digest?: string;
}

/** `host[:port]/path/name[:tag][@sha256:hex]` (the registry part is required: no Docker Hub default). */
export function parseReference(text: string): Reference {
  const m =
    /^([a-z0-9.-]+(?::\d{1,5})?|\[[0-9a-f:]+\](?::\d{1,5})?)\/([a-z0-9]+(?:[._/-][a-z0-9]+)*)(?::([A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(
      text,
    );
  if (!m)
    throw new RegistryError(
      'bad-reference',
      `"${text}" is not a registry reference (HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST])`,
    );
  const ref: Reference = { registry: m[1]!, repository: m[2]! };
  if (m[3]) ref.tag = m[3];
  if (m[4]) ref.digest = m[4];
  if (!ref.tag && !ref.digest) ref.tag = 'latest';
  return ref;
}

export const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface Manifest {
  schemaVersion: 2;
  mediaType: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

/** The artifact of one profile (its Docker/OCI JSON bytes): blobs and the manifest's bytes. */
export function profileArtifact(
  profileJson: Uint8Array,
  annotations: Record<string, string>,
): { config: Uint8Array; layer: Uint8Array; manifest: Uint8Array } {
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const created =
    epoch && /^\d+$/.test(epoch)
      ? new Date(Number(epoch) * 1000).toISOString().replace(/\.000Z$/, 'Z')
      : '1970-01-01T00:00:00Z';
  const sorted: Record<string, string> = {};
  for (const k of Object.keys(annotations).sort()) sorted[k] = annotations[k]!;
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_MANIFEST,
    artifactType: MEDIA_TYPE_PROFILE,
    config: { mediaType: MEDIA_TYPE_PROFILE, digest: sha256(EMPTY_CONFIG), size: EMPTY_CONFIG.length },
    layers: [
      {
        mediaType: MEDIA_TYPE_LAYER,
        digest: sha256(profileJson),
        size: profileJson.length,
        annotations: { 'org.opencontainers.image.title': LAYER_TITLE },
      },
    ],
    annotations: { 'org.opencontainers.image.created': created, ...sorted },
  };
  return { config: EMPTY_CONFIG, layer: profileJson, manifest: Buffer.from(JSON.stringify(manifest)) };
}

export interface Credentials {
  username: string;
  password: string;
}

/** A minimal OCI distribution client for one repository. */
export class RegistryClient {
  private token: string | undefined;
  private readonly base: string;

  constructor(
    readonly ref: Reference,
    private readonly creds?: Credentials,
    plainHttp = false,
  ) {
    const local = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(ref.registry);
    this.base = `${plainHttp || local ? 'http' : 'https'}://${ref.registry}/v2/${ref.repository}`;
  }

  private where(path: string): string {
    return `${this.ref.registry}/${this.ref.repository}${path}`;
  }

  private async request(
    method: string,
    url: string,
    init: RequestInit = {},
    retried = false,
  ): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.token) headers.set('Authorization', this.token);
    let res: Response;
    try {
      // one deadline for the answer and its body (a registry that never answers is a timeout)
      res = await fetch(url, {
        ...init,
        method,
        headers,
        redirect: 'follow',
        signal: AbortSignal.timeout(timeoutMs()),
      });
    } catch (e) {
      const name = (e as Error)?.name;
      if (name === 'TimeoutError' || name === 'AbortError')
        throw new RegistryError(
          'registry-timeout',
          `${this.ref.registry} did not answer in ${timeoutMs() / 1000} s`,
          url,
          'SYSFENCE_REGISTRY_TIMEOUT=SECONDS waits longer',
        );
      throw new RegistryError(
        'registry-unreachable',
        `cannot reach ${this.ref.registry}: ${printable((e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : String((e as Error)?.message ?? e))}`,
        url,
      );
    }
    if (res.status === 401 && !retried) {
      await this.authenticate(res.headers.get('www-authenticate') ?? '');
      return this.request(method, url, init, true);
    }
    return res;
  }

  /** Basic or Bearer (a token from the realm the registry names), from the challenge. */
  private async authenticate(challenge: string): Promise<void> {
    if (!this.creds)
      throw new RegistryError(
        'registry-auth-required',
        `${this.ref.registry} asks for credentials`,
        this.ref.registry,
        'give --username and the password on stdin (--password-stdin) or in SYSFENCE_REGISTRY_PASSWORD',
      );
    const basic = `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password}`).toString('base64')}`;
    if (/^basic/i.test(challenge)) {
      this.token = basic;
      return;
    }
    const realm = /realm="([^"]+)"/.exec(challenge)?.[1];
    if (!/^bearer/i.test(challenge) || !realm)
      throw new RegistryError(
        'registry-auth-unsupported',
        `unsupported authentication: ${challenge || 'none named'}`,
      );
    const q = new URLSearchParams();
    const service = /service="([^"]+)"/.exec(challenge)?.[1];
    const scope = /scope="([^"]+)"/.exec(challenge)?.[1];
    if (service) q.set('service', service);
    if (scope) q.set('scope', scope);
    let r: Response;
    try {
      r = await fetch(`${realm}?${q}`, {
        headers: { Authorization: basic },
        signal: AbortSignal.timeout(timeoutMs()),
      });
    } catch (e) {
      throw bodyError(e, 'the token service', realm);
    }
    if (!r.ok)
      throw new RegistryError(
        'registry-auth-failed',
        `the token service refused the credentials (HTTP ${r.status})`,
        realm,
      );
    const text = Buffer.from(await readBody(r, REGISTRY_LIMITS.text, 'the token answer', realm)).toString(
      'utf8',
    );
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new RegistryError(
        'registry-auth-failed',
        `the token service answered no JSON: ${printable(text, 120)}`,
        realm,
      );
    }
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const token =
      typeof b.token === 'string' ? b.token : typeof b.access_token === 'string' ? b.access_token : undefined;
    if (!token) throw new RegistryError('registry-auth-failed', 'the token service gave no token', realm);
    this.token = `Bearer ${token}`;
  }

  private async fail(res: Response, what: string): Promise<never> {
    const body = await readBody(res, REGISTRY_LIMITS.text, `${what} (error answer)`, this.ref.registry).catch(
      () => new Uint8Array(),
    );
    const text = printable(Buffer.from(body).toString('utf8').trim());
    if (res.status === 401 || res.status === 403)
      throw new RegistryError(
        'registry-auth-failed',
        `${what}: HTTP ${res.status} (credentials refused)`,
        this.ref.registry,
      );
    if (res.status === 404)
      throw new RegistryError('registry-not-found', `${what}: not found`, this.ref.registry);
    throw new RegistryError(
      'registry-error',
      `${what}: HTTP ${res.status}${text ? ` ${text}` : ''}`,
      this.ref.registry,
    );
  }

  async pushBlob(data: Uint8Array): Promise<string> {
    const digest = sha256(data);
    const head = await this.request('HEAD', `${this.base}/blobs/${digest}`);
    if (head.ok) return digest;
    const start = await this.request('POST', `${this.base}/blobs/uploads/`);
    if (start.status !== 202) await this.fail(start, `upload of ${digest} to ${this.where('')}`);
    const location = new URL(start.headers.get('location') ?? '', this.base);
    location.searchParams.set('digest', digest);
    const put = await this.request('PUT', location.toString(), {
      body: data,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(data.length) },
    });
    if (put.status !== 201) await this.fail(put, `upload of ${digest}`);
    return digest;
  }

  async pushManifest(manifest: Uint8Array, tag: string): Promise<string> {
    const put = await this.request('PUT', `${this.base}/manifests/${tag}`, {
      body: manifest,
      headers: { 'Content-Type': MEDIA_TYPE_MANIFEST },
    });
    if (put.status !== 201) await this.fail(put, `manifest ${this.where(`:${tag}`)}`);
    return sha256(manifest);
  }

  /** The manifest by tag or digest; by digest its bytes must hash to it. */
  async manifest(): Promise<{ bytes: Uint8Array; digest: string; manifest: Manifest }> {
    const id = this.ref.digest ?? this.ref.tag!;
    const res = await this.request('GET', `${this.base}/manifests/${id}`, {
      headers: { Accept: MEDIA_TYPE_MANIFEST },
    });
    const what = `manifest ${this.where(this.ref.digest ? `@${id}` : `:${id}`)}`;
    if (!res.ok) await this.fail(res, what);
    const bytes = await readBody(res, REGISTRY_LIMITS.manifest, `the ${what}`, this.where(''));
    const digest = sha256(bytes);
    if (this.ref.digest && digest !== this.ref.digest)
      throw new RegistryError(
        'artifact-digest-mismatch',
        `the registry sent a manifest whose digest is ${digest}, not the ${this.ref.digest} asked for: refused`,
        this.where(`@${this.ref.digest}`),
      );
    return { bytes, digest, manifest: parseManifest(bytes, this.where(`@${digest}`)) };
  }

  /** A blob, checked against its descriptor's digest and size. */
  async blob(d: Descriptor): Promise<Uint8Array> {
    if (d.size > REGISTRY_LIMITS.blob)
      throw new RegistryError(
        'registry-too-large',
        `blob ${d.digest} is ${d.size} bytes by its descriptor, more than the ${REGISTRY_LIMITS.blob} sysfence reads: refused`,
        this.where(`@${d.digest}`),
      );
    const res = await this.request('GET', `${this.base}/blobs/${d.digest}`);
    if (!res.ok) await this.fail(res, `blob ${d.digest}`);
    // never more than the descriptor says (a registry that sends more is refused, not read)
    const bytes = await readBody(res, d.size, `blob ${d.digest}`, this.where(`@${d.digest}`));
    if (bytes.length !== d.size || sha256(bytes) !== d.digest)
      throw new RegistryError(
        'artifact-digest-mismatch',
        `blob ${d.digest}: the registry sent ${bytes.length} bytes hashing to ${sha256(bytes)}, not ${d.size} bytes of ${d.digest}: refused (tampered or corrupt)`,
        this.where(`@${d.digest}`),
      );
    return bytes;
  }
}

/** Checks a pulled manifest is a seccomp profile artifact; returns its one layer. */
export function profileLayer(m: Manifest, where: string): Descriptor {
  const type = m.artifactType ?? m.config?.mediaType;
  if (m.schemaVersion !== 2 || type !== MEDIA_TYPE_PROFILE)
    throw new RegistryError(
      'artifact-not-a-profile',
      `the artifact's type is ${type ?? 'missing'}, not ${MEDIA_TYPE_PROFILE} (an OCI runtime-spec seccomp profile)`,
      where,
    );
  if (!Array.isArray(m.layers) || m.layers.length !== 1 || m.layers[0]!.mediaType !== MEDIA_TYPE_LAYER)
    throw new RegistryError(
      'artifact-invalid',
      `a seccomp profile artifact has exactly one ${MEDIA_TYPE_LAYER} layer; this one has ${m.layers?.length ?? 0}`,
      where,
    );
  return m.layers[0]!;
}
