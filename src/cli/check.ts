// `cordon check`: what this kernel lets cordon enforce, and a verdict per preset.
import { probeKernel } from '../probe.js';
import { UsageError } from './errors.js';
import { checkHelp } from './help.js';
import { presetVerdicts, trivialCommand, verdictText } from './verdicts.js';

export async function check(argv: string[]): Promise<number> {
  let json = false;
  for (const arg of argv) {
    if (arg === '--json') json = true;
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(checkHelp());
      return 0;
    } else throw new UsageError(arg.startsWith('-') ? `unknown option ${arg.replace(/=.*/s, '')}` : `unexpected argument ${arg}`, 'check');
  }
  const info = probeKernel();
  const verdicts = await presetVerdicts();
  const status = verdicts.every((v) => v.verdict === 'works') ? 0 : 1;
  if (json) {
    process.stdout.write(`${JSON.stringify({ ...info, verdicts }, null, 2)}\n`);
    return status;
  }
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  const lines = [
    `kernel            ${info.release} (${info.arch})${info.isRoot ? ', running as root' : ''}`,
    `landlock          ${info.landlock.abi > 0 ? `ABI ${info.landlock.abi}` : `unavailable (${info.landlock.unavailableReason})`}`,
    `seccomp filters   ${yes(info.seccomp.filter)}`,
    `user namespaces   ${yes(info.namespaces.user)}`,
    `mount/pid/net/ipc ${yes(info.namespaces.mount)}/${yes(info.namespaces.pid)}/${yes(info.namespaces.network)}/${yes(info.namespaces.ipc)}`,
    `cgroup v2         ${info.cgroup.v2.mounted ? `${info.cgroup.v2.mountPoint}, own ${info.cgroup.v2.ownCgroup}, ${info.cgroup.v2.writable ? 'writable' : 'not writable'}, controllers: ${info.cgroup.v2.controllers.join(' ') || 'none'}` : 'not mounted'}`,
    `cgroup v1         memory ${info.cgroup.v1.memory.dir || '-'} (${info.cgroup.v1.memory.writable ? 'writable' : 'read-only'}), pids ${info.cgroup.v1.pids.dir || '-'} (${info.cgroup.v1.pids.writable ? 'writable' : 'read-only'})`,
    '',
    `presets (strict mode, each running ${trivialCommand().join(' ')}):`,
    ...verdicts.map((v) => `  ${verdictText(v)}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return status;
}
