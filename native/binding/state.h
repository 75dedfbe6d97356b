// The addon's state per Node environment (main thread or worker): its children, its plan cache
// and standby pool, and a few fds and counters.
#pragma once
#include <napi.h>
#include <uv.h>

#include "children.h"
#include "standby_pool.h"

namespace cordon::binding {

struct AddonState {
  AddonState(napi_env env, uv_loop_t* loop) : children(env, loop), pool(loop) {}
  ChildTable children;
  StandbyPool pool;
  int devNull = -1;          // for 'ignore' stdio, opened on first use
  double lastSandboxKey = 0;
};

// The environment's state, made on first use (with the cleanup hook OnEnvTeardown).
AddonState* GetState(Napi::Env env);

// Kills every child and discards every standby of the environment (children.cc).
void OnEnvTeardown(void* state);

}  // namespace cordon::binding
