// Type test of the public API through require() (CommonJS). Compiled by `tsc -p test/types`.
import cordon = require('cordon');

const policy = cordon.SandboxPolicy.readOnly();
async function run(): Promise<void> {
  const r = await cordon.execSandboxed('echo', ['hi'], { policy });
  const s: string = r.stdout;
  const b: Buffer = (await cordon.execSandboxed('echo', ['hi'], { policy, encoding: 'buffer' })).stdout;
  void [s, b];
  // @ts-expect-error misspelt event name
  cordon.spawnSandboxed('true').on('clsoe', () => {});
}
void run;
