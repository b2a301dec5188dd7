/** A problem with a BPF program, with a stable code and the instruction index it concerns. */
export class BpfError extends Error {
  constructor(
    readonly code: string,
    readonly pc: number,
    message: string,
  ) {
    super(`instruction ${pc}: ${message}`);
    this.name = 'BpfError';
  }
}
