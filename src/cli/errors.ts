/** Errors the CLI reports with a stable code and exit status 2 (usage or runtime error). */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly location?: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_ERROR = 2;
