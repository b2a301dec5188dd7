import { SysfenceError } from '../errors.js';
/** A problem with a BPF program, with a stable code and the instruction index it concerns. */
export class BpfError extends SysfenceError {
  constructor(
    code: string,
    readonly pc: number,
    message: string,
  ) {
    super(code, `instruction ${pc}: ${message}`);
    this.name = 'BpfError';
  }
}
