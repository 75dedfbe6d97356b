// Policies for the filesystem tests, from their wire JSON (the format policy-semantics.md
// describes), through the real policy model.
import { SandboxPolicy, type SandboxPolicyJson } from '../../src/policy/index.js';

export type PolicyJson = Record<string, unknown> & { type: SandboxPolicyJson['type'] };

export async function policyFrom(json: PolicyJson): Promise<SandboxPolicy> {
  return SandboxPolicy.parse(json);
}
