/** An error about a profile, with a stable code and the JSON path it concerns. */
export class ProfileError extends Error {
  constructor(
    readonly code: string,
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'ProfileError';
  }
}
