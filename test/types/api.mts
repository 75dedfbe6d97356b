// Type test of the public API (ES-module import). Compiled by `tsc -p test/types`, never run.
import {
  execSandboxed,
  spawnSandboxed,
  SandboxPolicy,
  SandboxedProcess,
  type EnforcementReport,
  type ExecResult,
  type NetworkEvent,
} from 'cordon';
import cordon from 'cordon';

const policy = SandboxPolicy.workspaceWrite(['/tmp/ws']);

// execSandboxed: strings by default and for any text encoding, Buffers for 'buffer'.
async function outputs(): Promise<void> {
  const text = await execSandboxed('echo', ['hi'], { policy });
  const s: string = text.stdout;
  const e: string = text.stderr;
  // @ts-expect-error stdout is a string by default, not a Buffer
  const wrong: Buffer = text.stdout;

  const latin = await execSandboxed('echo', ['hi'], { encoding: 'latin1' });
  const l: string = latin.stdout;

  const bytes = await execSandboxed('echo', ['hi'], { encoding: 'buffer' });
  const b: Buffer = bytes.stdout;
  // @ts-expect-error encoding 'buffer' gives Buffers
  const notText: string = bytes.stdout;

  const noArgs = await execSandboxed('true', { encoding: 'buffer' });
  const nb: Buffer = noArgs.stderr;
  const r: ExecResult = text;
  void [s, e, wrong, l, b, notText, nb, r];
  // @ts-expect-error args is an array, never a string
  await execSandboxed('ls', '-la');
  // @ts-expect-error unknown encoding
  await execSandboxed('true', [], { encoding: 'utf9' });
  // @ts-expect-error unknown option
  await execSandboxed('true', [], { polcy: policy });
}

// The enforcement report is concretely typed, section by section.
function report(r: EnforcementReport): void {
  const abi: number = r.kernel.landlockAbi;
  const mode: 'none' | 'allowlist' | 'full' | undefined = r.network?.mode;
  const by: string[] | undefined = r.network?.by;
  const installed: boolean | undefined = r.seccomp?.installed;
  const instructions: number | undefined = r.seccomp?.instructions;
  const fsKeys: string[] = Object.keys(r.filesystem ?? {});
  const missing: string[] = r.missing;
  void [abi, mode, by, installed, instructions, fsKeys, missing];
  // @ts-expect-error no such section
  void r.filesytem;
  // @ts-expect-error seccomp is a report, not unknown: no made-up fields
  void r.seccomp?.bogus;
}

// Events: names and listener shapes are checked.
function events(child: SandboxedProcess): void {
  child.on('exit', (code, signal) => {
    const c: number | null = code;
    const s: NodeJS.Signals | null = signal;
    void [c, s];
  });
  child.once('close', (code: number | null) => void code);
  child.on('error', (err: Error) => void err.message);
  child.on('network', (event: NetworkEvent) => void event.host);
  child.on('spawn', () => {});
  // A Promise's resolve is a fine listener (it takes an unknown value the event does not pass).
  void new Promise((resolve) => child.once('spawn', resolve));
  void new Promise<unknown>((resolve) => child.once('exit', resolve));
  // @ts-expect-error misspelt event name
  child.on('exti', () => {});
  // @ts-expect-error exit's code is number | null, not a string
  child.on('exit', (code: string) => void code);
  // @ts-expect-error error listeners take an Error
  child.on('error', (err: number) => void err);
  child.kill('SIGTERM');
  // @ts-expect-error internal members are not part of the public declarations
  child._terminate('killed', 9, 0);
  // @ts-expect-error internal members are not part of the public declarations
  child._onExit(0, null, null);
}

const child = spawnSandboxed('true', [], { policy, stdio: 'inherit', shell: true });
events(child);
report(child.enforcement);
// @ts-expect-error stdio takes 'pipe' | 'inherit' | 'ignore' | fd | stream
spawnSandboxed('true', [], { stdio: 'bogus' });
// The default export is the same module.
const same: typeof spawnSandboxed = cordon.spawnSandboxed;
void [outputs, same];
