// Builds one filesystem plan, uncached (plan-cache.ts keeps them). The steps, in order, each in
// its own module: survey the host and the policy (survey.ts: roots, mechanisms, private temp
// dirs, placeholders, protected entries, devices), plan the mount namespace (mounts.ts), build
// the Landlock ruleset (ruleset.ts, with network-rules.ts), and report what holds
// (report.ts). A policy that confines no file (DangerFullAccess, ExternalSandbox) gets only the
// network part.
import { native } from '../native.js';
import { LANDLOCK_ACCESS_FS, MAX_KNOWN_ABI } from './access.js';
import { planMountNamespace } from './mounts.js';
import { networkRules, type NetworkRules } from './network-rules.js';
import { reportProtections } from './report.js';
import { planLandlock } from './ruleset.js';
import { isWithin } from './rules.js';
import type { Stamp } from './stamps.js';
import { surveyHost } from './survey.js';
import type { BuiltPlan, FilesystemPlanInput, Protection } from './types.js';
import { isConfiningKind } from '../policy/kinds.js';

const F = LANDLOCK_ACCESS_FS;

export function buildPlan(input: FilesystemPlanInput): BuiltPlan {
  const stamps: Stamp[] = [];
  const kernelAbi = Math.min(input.probe.landlockAbi, MAX_KNOWN_ABI);
  const abi = Math.max(0, Math.min(kernelAbi, input.landlockAbiCap ?? Number.POSITIVE_INFINITY));
  const net = networkRules(input.network, abi);
  const confining = isConfiningKind(input.policy.kind);
  if (!confining) return unconfinedPlan(input, abi, net, stamps);

  const survey = surveyHost(input, abi, stamps);
  const ns = planMountNamespace(survey);
  const landlock = planLandlock(survey, net, ns.mounts);
  const { mode, protections, missing } = reportProtections(survey, net, ns, landlock);
  const { roots, privateTemp } = survey;
  return {
    plan: {
      rulesetFd: landlock.rulesetFd,
      mounts: ns.mounts,
      needsMountNamespace: ns.mounts.length > 0 || ns.anchors.length > 0 || privateTemp.length > 0 || ns.deviceMounts !== null,
      report: {
        mode,
        landlockAbi: survey.landlock ? abi : 0,
        protections,
        frozenDirs: landlock.splitDirs.filter((d) => (d.rights & F.MAKE_REG) === 0 && roots.some((r) => isWithin(d.path, r))).map((d) => d.path),
      },
      missing,
      writableRoots: roots,
      anchors: ns.anchors,
      privateTemp,
      deviceMounts: ns.deviceMounts,
      rules: landlock.rules,
    },
    stamps,
  };
}

/** DangerFullAccess and ExternalSandbox: no file confined; a ruleset only for Landlock's TCP rules. */
function unconfinedPlan(input: FilesystemPlanInput, abi: number, net: NetworkRules, stamps: Stamp[]): BuiltPlan {
  const protections: Protection[] = [];
  const fd = net.handled !== 0 ? native().landlock.createRuleset({ handledAccessFs: 0, handledAccessNet: net.handled, pathRules: [], netRules: net.rules }) : -1;
  if (input.network.mode !== 'full') protections.push(net.protection);
  const roots = input.policy.getWritableRootsWithCwd(input.cwd).map((r) => r.root);
  return {
    plan: {
      rulesetFd: fd,
      mounts: [],
      needsMountNamespace: false,
      report: { mode: 'unrestricted', landlockAbi: fd >= 0 ? abi : 0, protections, frozenDirs: [] },
      missing: [],
      writableRoots: roots,
      anchors: [],
      privateTemp: [],
      deviceMounts: null,
      rules: [],
    },
    stamps,
  };
}
