// Running children as handles on the event loop: a uv_poll on the pidfd wakes us when the child
// exits, then its pidfd reaps exactly that child (never waitpid(-1): Node's own child_process
// must keep its statuses). No SIGCHLD handler, no timer.
#pragma once
#include <napi.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include <unordered_map>

#include "../spawn.h"

namespace cordon::binding {

struct ChildTable;

struct ChildHandle {
  uv_poll_t poll;
  int32_t id = 0;
  pid_t pid = -1;
  int pidfd = -1;
  // The child's mount namespace, held open while it runs: the last reference to a mount
  // namespace tears its whole mount tree down (umount, an RCU grace period), and in the exiting
  // child that work sits between exit and the pidfd turning readable. Held here, it is dropped
  // on the threadpool after the exit is delivered. -1: none.
  int mountNamespaceFd = -1;
  ChildTable* table = nullptr;
  Napi::FunctionReference onExit;
};

struct ChildTable {
  ChildTable(napi_env e, uv_loop_t* l) : env(e), loop(l) {}
  napi_env env;
  uv_loop_t* loop;
  std::unordered_map<int32_t, ChildHandle*> children;
  int32_t nextId = 1;
};

// Watches a spawned child (result of Spawn): onExit(code, signal, usage) runs once it has exited
// and been reaped. holdMountNamespace: it has a mount namespace of its own, to be held while it
// runs (a standby's comes in result). 0 with *id set, or a libuv error: the child has then been
// killed and reaped.
int WatchChild(ChildTable* table, const SpawnResult& result, bool holdMountNamespace, Napi::Function onExit,
               int32_t* id);

// Environment teardown (host exit or worker termination): no sandboxed child outlives its host.
void ForgetChildren(ChildTable* table);

// signalChild(id, signal) -> 0 | -errno. pidfd_send_signal cannot hit a recycled pid.
Napi::Value SignalChildJs(const Napi::CallbackInfo& info);
// refChild(id, ref): whether a running child keeps the event loop alive.
Napi::Value RefChildJs(const Napi::CallbackInfo& info);

}  // namespace cordon::binding
