import { SysfenceError } from '../errors.js';
/** Errors the CLI reports with a stable code and exit status 2 (usage or runtime error). */
export class CliError extends SysfenceError {
  constructor(code: string, message: string, location?: string, hint?: string) {
    super(code, message, location, hint);
    this.name = 'CliError';
  }
}

export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_ERROR = 2;
