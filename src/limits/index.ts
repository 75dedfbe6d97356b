// Resource limits: which mechanism holds each limit (plan.ts, pure), the per-spawn cgroup
// session (session.ts) and why a child ended (termination.ts). The machine facts they are
// planned from live in host/cgroups.ts.
export * from './plan.js';
export * from './session.js';
export * from './termination.js';
