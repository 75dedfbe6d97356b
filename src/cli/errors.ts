// The CLI's own failures, each with its exit status (index.ts turns them into messages).

/** A command with a usage text of its own. */
export type Topic = 'main' | 'run' | 'check';

/** Bad usage: the message, then the usage of `topic`; exit 125. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly topic: Topic = 'run',
  ) {
    super(message);
  }
}

/** The sandbox cannot be set up as asked (a bad --cwd, an unreadable policy file...): exit 125, no usage. */
export class SetupError extends Error {}
