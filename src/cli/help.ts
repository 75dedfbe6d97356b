// The usage and help texts of every command, and cordon's version: what `cordon help`,
// `--help` and `--version` print, and what bad usage is answered with.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../native.js';
import { SetupError, UsageError, type Topic } from './errors.js';
import { trivialCommand } from './verdicts.js';

const MAIN_USAGE = `usage: cordon run [OPTIONS] [--] COMMAND [ARGS...]
       cordon check [--json]
       cordon help [run|check]
       cordon --version
`;

const MAIN_HELP = `cordon: run a command inside a kernel-enforced Linux sandbox (Landlock, seccomp-BPF,
namespaces, resource limits).

${MAIN_USAGE}
commands:
  run       run COMMAND sandboxed; by default the workspace-write preset: the current
            directory is the writable workspace, no network, secrets dropped from the
            environment (cordon run --help)
  check     what this kernel lets cordon enforce, and whether each preset works here in
            strict mode (cordon check --help)
  help      this text, or a command's: cordon help run

options:
  -h, --help       show help (a command's too: cordon run --help)
  -V, --version    print cordon's version
`;

const RUN_USAGE = `usage: cordon run [--policy FILE.json | --preset read-only|workspace-write|full-access]
                  [--cwd DIR] [--allow-write DIR]... [--deny-read PATH]...
                  [--allow-domain HOST[:PORT]]... [--allow-net]
                  [--env NAME[=VALUE]]... [--env-minimal] [--keep-env NAME]...
                  [--timeout SECONDS] [--best-effort] [--tmp private|host] [--device PATH]...
                  [--protected-dirs placeholder|freeze|allow-create]
                  [--report[=json|summary]] [--report-file FILE]
                  [--] COMMAND [ARGS...]
`;

export const RUN_HELP = `${RUN_USAGE}
Runs COMMAND in a sandbox and exits with its status. Options end at '--' or at the first
word that is not an option; an option's value may follow it or be joined with '='.

policy (default: the workspace-write preset, the working directory as workspace)
  --policy FILE.json      a policy in the reference JSON format (see README)
  --preset NAME           read-only, workspace-write, or full-access (no sandbox at all)
  --cwd DIR               working directory (default: the current one); under workspace-write
                          the workspace, writable
  --allow-write DIR       another writable root (workspace-write only); relative paths of
                          --allow-write and --deny-read are relative to --cwd
  --deny-read PATH        a sensitive path: neither readable nor writable in the sandbox. Joins
                          the policy's list: the defaults (~/.ssh, ~/.aws, ~/.npmrc, ...) stay
                          unless a policy file gives its own. Workspace-write only: a read-only
                          policy always has exactly the default list
  --best-effort           run even when a protection cannot be enforced on this machine (the
                          report says which); default: refuse, exit 125
  --tmp private|host      workspace-write: a private /tmp (default) or the host's
  --device PATH           a character device beyond null, zero, full, random, urandom, tty
  --protected-dirs MODE   .git, .codex, .agents, .vtcode missing at the top of a writable root:
                          placeholder (default), freeze or allow-create

network (default: none)
  --allow-domain HOST[:PORT]
                          allowlist entry (TCP; port 443 unless given): a name, *.name, an IP,
                          a CIDR range (10.0.0.0/8:5432), [::1]:8080, or localhost:PORT for one
                          port of this host's loopback
  --allow-net             unrestricted network, a policy file's allowlist dropped (excludes
                          --allow-domain)

environment (default: this one without secrets: API keys, tokens, passwords, credential URLs)
  --env NAME=VALUE        set NAME in the sandbox
  --env NAME              pass this environment's NAME (nothing when it is unset)
                          Either form is your explicit choice: NAME passes even when the secrets
                          filter would drop it, and under --env-minimal. cordon's own variables
                          (CORDON_*, and the proxy and cache variables it sets) still win.
  --env-minimal           inherit only PATH, HOME, LANG, TERM
  --keep-env NAME         inherit NAME too (implies --env-minimal; secret-shaped names stay dropped)

limits and reports
  --timeout SECONDS       wall-clock limit (default: the policy's; 0: none); exit 124
  --report[=json]         the enforcement report, JSON, on stderr as the command starts
  --report=summary        one line on stderr instead: what is enforced here and what is not
  --report-file FILE      the JSON report goes to FILE, not stderr (with --report=summary too)
  -h, --help              this text

exit status: the command's; 128+N killed by signal N; 124 timed out; 125 the sandbox could not
be set up (bad usage, bad policy or --cwd, refused in strict mode); 126 not executable; 127 not
found.
`;

const CHECK_USAGE = `usage: cordon check [--json]
`;

export const checkHelp = () => `${CHECK_USAGE}
Prints what this kernel lets cordon enforce for the calling user (Landlock, seccomp,
namespaces, cgroups), then tries each preset in strict mode by running a trivial command
(${trivialCommand().join(' ')}): ReadOnly with its default limits, WorkspaceWrite (in a temporary
workspace), and WorkspaceWrite with a network allowlist. Each gets a verdict: works here;
refused, because of what cannot be enforced (and the option that accepts the gap); or fails,
and how.

  --json      the same as one JSON object: the kernel probe, and "verdicts"
  -h, --help  this text

exit status: 0 every preset works here; 1 some preset is refused or fails; 125 bad usage, or
the kernel could not be probed (not Linux, no native addon).
`;

/** The usage of each command, after a bad-usage message. */
export const USAGES: Record<Topic, string> = { main: MAIN_USAGE, run: RUN_USAGE, check: CHECK_USAGE };
const HELPS: Record<Topic, () => string> = { main: () => MAIN_HELP, run: () => RUN_HELP, check: checkHelp };
/** Where the full help of each command is, after its usage. */
export const MORE: Record<Topic, string> = { main: 'cordon --help', run: 'cordon run --help', check: 'cordon check --help' };

/** The package version, from package.json. */
export function version(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  } catch (err) {
    throw new SetupError(`cannot read cordon's package.json in ${packageRoot}: ${(err as Error).message}`);
  }
}

/** `cordon help [TOPIC]`: the help of the main command, run or check, on stdout. */
export function help(topic: string | undefined): number {
  if (topic !== undefined && topic !== 'run' && topic !== 'check') throw new UsageError(`no help for ${topic} (cordon help run, cordon help check)`, 'main');
  process.stdout.write(HELPS[(topic ?? 'main') as Topic]());
  return 0;
}
