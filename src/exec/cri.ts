/**
 * A client of the Kubernetes Container Runtime Interface (CRI, `runtime.v1`) over its Unix socket:
 * what kubelet asks containerd or CRI-O, and what sysfence asks to find pods by their labels.
 * gRPC is HTTP/2 with length-prefixed Protocol Buffers messages (exec/protobuf.ts); the field
 * numbers are the CRI's, written in each message builder below. Only the calls sysfence makes.
 */
import { type ClientHttp2Session, connect as h2connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { SysfenceError } from '../errors.js';
import { Pb, PbRead } from './protobuf.js';

export class CriError extends SysfenceError {
  constructor(code: string, message: string, location?: string, hint?: string) {
    super(code, message, location, hint);
    this.name = 'CriError';
  }
}

/** containerd's default CRI socket (kubelet's --container-runtime-endpoint). */
export const CONTAINERD_SOCKET = '/run/containerd/containerd.sock';

/** The socket's path of an endpoint given as `unix:///path` (crictl's form) or as a path. */
export const socketPath = (endpoint: string): string => endpoint.replace(/^unix:\/\//, '');

export type SeccompProfile =
  | { type: 'RuntimeDefault' }
  | { type: 'Unconfined' }
  /** `path`: the file on the node (kubelet: /var/lib/kubelet/seccomp/ + localhostProfile). */
  | { type: 'Localhost'; path: string };

const PROFILE_TYPE = { RuntimeDefault: 0, Unconfined: 1, Localhost: 2 } as const;
/** NamespaceMode: POD 0, CONTAINER 1, NODE 2. */
const NODE = 2;

export interface PodConfig {
  name: string;
  namespace: string;
  uid: string;
  attempt?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** kubelet's pod cgroup (cgroupfs driver: /kubepods/besteffort/podUID). */
  cgroupParent?: string;
  logDirectory?: string;
  /** The node's network, PID and IPC namespaces stay the pod's (no CNI needed). */
  hostNetwork?: boolean;
}

export interface ContainerConfig {
  name: string;
  attempt?: number;
  image: string;
  command?: string[];
  args?: string[];
  env?: Record<string, string>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  logPath?: string;
  seccomp?: SeccompProfile;
  stdin?: boolean;
  mounts?: { containerPath: string; hostPath: string; readonly?: boolean }[];
  /** Capability names without CAP_ ("BPF"), or "ALL". */
  capabilities?: { add?: string[]; drop?: string[] };
  runAsUser?: number;
  readonlyRootfs?: boolean;
  noNewPrivs?: boolean;
}

const seccompMsg = (s: SeccompProfile | undefined) =>
  s === undefined
    ? undefined
    : new Pb().int(1, PROFILE_TYPE[s.type]).str(2, s.type === 'Localhost' ? s.path : undefined);

function podConfig(p: PodConfig): Pb {
  const ns = p.hostNetwork ? new Pb().int(1, NODE) : undefined;
  return new Pb()
    .msg(1, new Pb().str(1, p.name).str(2, p.uid).str(3, p.namespace).int(4, p.attempt))
    .str(2, p.hostNetwork ? undefined : p.name)
    .str(3, p.logDirectory)
    .map(6, p.labels)
    .map(7, p.annotations)
    .msg(8, new Pb().str(1, p.cgroupParent).msg(2, new Pb().msg(1, ns)));
}

function containerConfig(c: ContainerConfig): Pb {
  const env = Object.entries(c.env ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  const m = new Pb()
    .msg(1, new Pb().str(1, c.name).int(2, c.attempt))
    .msg(2, new Pb().str(1, c.image))
    .strs(3, c.command)
    .strs(4, c.args);
  for (const [k, v] of env) m.msg(6, new Pb().str(1, k).str(2, v));
  for (const x of c.mounts ?? [])
    m.msg(7, new Pb().str(1, x.containerPath).str(2, x.hostPath).int(3, x.readonly));
  const sc = new Pb()
    .msg(1, c.capabilities ? new Pb().strs(1, c.capabilities.add).strs(2, c.capabilities.drop) : undefined)
    .msg(5, c.runAsUser !== undefined ? new Pb().int(1, c.runAsUser) : undefined)
    .int(7, c.readonlyRootfs)
    .int(11, c.noNewPrivs)
    .msg(15, seccompMsg(c.seccomp));
  return m
    .map(9, c.labels)
    .map(10, c.annotations)
    .str(11, c.logPath)
    .int(12, c.stdin)
    .msg(15, new Pb().msg(2, sc));
}

export type ContainerState = 'created' | 'running' | 'exited' | 'unknown';
const STATES: ContainerState[] = ['created', 'running', 'exited', 'unknown'];

export interface PodSandbox {
  id: string;
  name: string;
  namespace: string;
  uid: string;
  ready: boolean;
  labels: Record<string, string>;
}

export interface CriContainer {
  id: string;
  podSandboxId: string;
  name: string;
  attempt: number;
  image: string;
  state: ContainerState;
  labels: Record<string, string>;
}

export interface ContainerStatus {
  state: ContainerState;
  exitCode: number;
  reason: string;
  message: string;
  /** With verbose: the runtime's own facts (containerd: "info" is JSON with pid and runtimeSpec). */
  info: Record<string, string>;
}

/** One connection to a CRI endpoint (`unix:///path` or a path). */
export class CriClient {
  private session: ClientHttp2Session | undefined;
  constructor(
    readonly endpoint: string,
    private readonly timeoutMs = 60_000,
  ) {}

  /** The connection, made at the first call and again after one broke (the runtime restarted). */
  private connection(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const path = socketPath(this.endpoint);
    const session = h2connect('http://localhost', { createConnection: () => netConnect(path) });
    session.on('error', () => {}); // each call says what failed
    this.session = session;
    return session;
  }

  close(): void {
    this.session?.close();
  }

  /** One unary call: `service` is RuntimeService or ImageService. */
  call(service: string, method: string, req: Pb): Promise<PbRead> {
    const body = req.done();
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    frame.set(body, 5);
    const where = `${this.endpoint} ${service}/${method}`;
    return new Promise((resolve, reject) => {
      const stream = this.connection().request({
        'content-type': 'application/grpc',
        te: 'trailers',
        ':method': 'POST',
        ':path': `/runtime.v1.${service}/${method}`,
      });
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let message = '';
      const timer = setTimeout(() => {
        stream.close();
        reject(new CriError('cri-timeout', `no answer in ${this.timeoutMs / 1000} s`, where));
      }, this.timeoutMs);
      const headers = (h: Record<string, unknown>) => {
        if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
        if (h['grpc-message'] !== undefined) message = decodeURIComponent(String(h['grpc-message']));
      };
      stream.on('response', headers);
      stream.on('trailers', headers);
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.on('error', (e) => {
        clearTimeout(timer);
        reject(
          new CriError(
            'cri-unavailable',
            `the CRI endpoint does not answer: ${e.message}`,
            where,
            'start containerd (or CRI-O) and give its socket with --cri-endpoint or CONTAINER_RUNTIME_ENDPOINT',
          ),
        );
      });
      stream.on('end', () => {
        clearTimeout(timer);
        if (status !== '0')
          return reject(
            new CriError(
              'cri-failed',
              `${status === undefined ? 'no status' : `status ${status}`}: ${message}`,
              where,
            ),
          );
        const all = Buffer.concat(chunks);
        if (all.length < 5) return resolve(new PbRead(new Uint8Array()));
        const n = all.readUInt32BE(1);
        if (all[0] !== 0 || 5 + n > all.length)
          return reject(new CriError('cri-failed', 'a compressed or cut answer', where));
        try {
          resolve(new PbRead(all.subarray(5, 5 + n)));
        } catch (e) {
          reject(e);
        }
      });
      stream.end(frame);
    });
  }

  async version(): Promise<{ runtimeName: string; runtimeVersion: string; apiVersion: string }> {
    const r = await this.call('RuntimeService', 'Version', new Pb().str(1, 'v1'));
    return { runtimeName: r.str(2), runtimeVersion: r.str(3), apiVersion: r.str(4) };
  }

  async runPodSandbox(p: PodConfig, runtimeHandler?: string): Promise<string> {
    const r = await this.call(
      'RuntimeService',
      'RunPodSandbox',
      new Pb().msg(1, podConfig(p)).str(2, runtimeHandler),
    );
    return r.str(1);
  }

  async createContainer(podId: string, c: ContainerConfig, pod: PodConfig): Promise<string> {
    const req = new Pb().str(1, podId).msg(2, containerConfig(c)).msg(3, podConfig(pod));
    return (await this.call('RuntimeService', 'CreateContainer', req)).str(1);
  }

  async startContainer(id: string): Promise<void> {
    await this.call('RuntimeService', 'StartContainer', new Pb().str(1, id));
  }

  async stopContainer(id: string, timeoutSeconds = 0): Promise<void> {
    await this.call('RuntimeService', 'StopContainer', new Pb().str(1, id).int(2, timeoutSeconds));
  }

  async removeContainer(id: string): Promise<void> {
    await this.call('RuntimeService', 'RemoveContainer', new Pb().str(1, id));
  }

  async stopPodSandbox(id: string): Promise<void> {
    await this.call('RuntimeService', 'StopPodSandbox', new Pb().str(1, id));
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.call('RuntimeService', 'RemovePodSandbox', new Pb().str(1, id));
  }

  /** Pod sandboxes, those with every given label when `labels` is given. */
  async listPodSandbox(labels?: Record<string, string>): Promise<PodSandbox[]> {
    const r = await this.call('RuntimeService', 'ListPodSandbox', new Pb().msg(1, new Pb().map(3, labels)));
    return r.msgs(1).map((s) => {
      const meta = s.msg(2);
      return {
        id: s.str(1),
        name: meta?.str(1) ?? '',
        uid: meta?.str(2) ?? '',
        namespace: meta?.str(3) ?? '',
        ready: s.int(3) === 0n,
        labels: s.map(5),
      };
    });
  }

  async listContainers(
    filter: { podSandboxId?: string; labels?: Record<string, string> } = {},
  ): Promise<CriContainer[]> {
    const f = new Pb().str(3, filter.podSandboxId).map(4, filter.labels);
    const r = await this.call('RuntimeService', 'ListContainers', new Pb().msg(1, f));
    return r.msgs(1).map((c) => ({
      id: c.str(1),
      podSandboxId: c.str(2),
      name: c.msg(3)?.str(1) ?? '',
      attempt: Number(c.msg(3)?.int(2) ?? 0n),
      image: c.msg(4)?.str(1) ?? '',
      state: STATES[Number(c.int(6))] ?? 'unknown',
      labels: c.map(8),
    }));
  }

  async containerStatus(id: string, verbose = false): Promise<ContainerStatus> {
    const r = await this.call('RuntimeService', 'ContainerStatus', new Pb().str(1, id).int(2, verbose));
    const s = r.msg(1);
    return {
      state: STATES[Number(s?.int(3) ?? 3n)] ?? 'unknown',
      exitCode: Number(BigInt.asIntN(32, s?.int(7) ?? 0n)),
      reason: s?.str(10) ?? '',
      message: s?.str(11) ?? '',
      info: r.map(2),
    };
  }
}
