// Imports run one way: cli → spawn → planning → policy → native loader, and no runtime cycle
// anywhere in src/. Read from the sources (static imports, re-exports and import() of our own
// modules; `import type` counts for the layer rules, not for cycles, since it vanishes at run time).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = join(__dirname, '..', '..', 'src');

interface Edge {
  to: string;
  typeOnly: boolean;
}

/** Per module, the node: built-ins it imports at run time. */
const builtins = new Map<string, string[]>();

function modules(): Map<string, Edge[]> {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith('.ts')) files.push(path);
    }
  };
  walk(src);
  const graph = new Map<string, Edge[]>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const edges: Edge[] = [];
    const target = (spec: string) => relative(src, normalize(join(dirname(file), spec.replace(/\.js$/, '.ts'))));
    for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?[^'";]*?from\s+'(\.[^']+)'/gm)) edges.push({ to: target(m[2]!), typeOnly: m[1] !== undefined });
    // A dynamic import() is a runtime edge unless it only names a type (typeof import / import('x').T in a type).
    for (const m of text.matchAll(/(typeof\s+|:\s*|<\s*)?import\('(\.[^']+)'\)/g)) edges.push({ to: target(m[2]!), typeOnly: m[1] !== undefined });
    graph.set(relative(src, file), edges);
    builtins.set(relative(src, file), [...text.matchAll(/^import\s+(?!type\s)[^'";]*?from\s+'(node:[^']+)'/gm)].map((m) => m[1]!));
  }
  return graph;
}

const graph = modules();

/** The layer of a module: an import may only go to its own layer or a lower one. */
function layer(module: string): number {
  if (module.startsWith('cli/')) return 5;
  if (module === 'index.ts') return 5;
  if (['spawn.ts', 'options.ts', 'process.ts', 'exec.ts', 'child-env.ts'].includes(module)) return 4;
  if (module.startsWith('policy/')) return 1;
  if (['native.ts', 'native-types.ts', 'errors.ts', 'lazy-node.ts'].includes(module)) return 0;
  if (module.startsWith('proxy/')) return 2; // the egress proxy: policy's domain rules, nothing of planning
  return 3; // planning: plan, filesystem, seccomp, limits, isolation, mount and network plans, env
}

describe('imports', () => {
  it('read every module of src/ (control: the graph has the known edges)', () => {
    expect(graph.size).toBeGreaterThan(30);
    expect(graph.get('cli/run.ts')!.some((e) => e.to === 'spawn.ts')).toBe(true);
    expect(graph.get('network.ts')!.some((e) => e.to === 'proxy/index.ts' && !e.typeOnly)).toBe(true); // the lazy import()
  });

  it('run one way: no module imports a higher layer', () => {
    const upward: string[] = [];
    for (const [from, edges] of graph) {
      for (const e of edges) if (graph.has(e.to) && layer(e.to) > layer(from)) upward.push(`${from} (${layer(from)}) → ${e.to} (${layer(e.to)})`);
    }
    expect(upward).toEqual([]);
  });

  it('have no runtime cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (m: string) => {
      state.set(m, 'open');
      stack.push(m);
      for (const e of graph.get(m) ?? []) {
        if (e.typeOnly || !graph.has(e.to)) continue;
        if (state.get(e.to) === 'open') cycles.push([...stack.slice(stack.indexOf(e.to)), e.to].join(' → '));
        else if (!state.has(e.to)) visit(e.to);
      }
      stack.pop();
      state.set(m, 'done');
    };
    for (const m of graph.keys()) if (!state.has(m)) visit(m);
    expect(cycles).toEqual([]);
  });

  // The planning decisions are pure functions of (policy, options, host facts): nothing they
  // run reads the machine or changes it (host/ does, before them).
  it.each(['plan/decide.ts', 'plan/report.ts', 'limits/plan.ts'])('%s reaches no host access at run time', (root) => {
    const closure = new Set<string>();
    const walk = (m: string) => {
      if (closure.has(m)) return;
      closure.add(m);
      for (const e of graph.get(m) ?? []) if (!e.typeOnly && graph.has(e.to)) walk(e.to);
    };
    walk(root);
    const impure = [...closure].filter((m) => m.startsWith('host/') || m.startsWith('filesystem/') || ['native.ts', 'probe.ts', 'plan/index.ts'].includes(m));
    const io = [...closure].flatMap((m) => (builtins.get(m) ?? []).filter((b) => !['node:path', 'node:os'].includes(b)).map((b) => `${m}: ${b}`));
    expect(closure.size).toBeGreaterThan(1); // control: the walk found its imports
    expect(impure).toEqual([]);
    expect(io).toEqual([]);
  });

  it('control: the host fact gathering is seen as host access', () => {
    expect(builtins.get('host/cgroups.ts')).toContain('node:fs');
    expect(graph.get('plan/index.ts')!.some((e) => e.to === 'host/facts.ts' && !e.typeOnly)).toBe(true);
  });
});
