import { SysfenceError } from '../errors.js';
/** An error about a profile, with a stable code and the JSON path it concerns. */
export class ProfileError extends SysfenceError {
  constructor(
    code: string,
    readonly path: string,
    message: string,
  ) {
    super(code, message, path);
    this.name = 'ProfileError';
  }
}
