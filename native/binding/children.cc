// Children on the event loop (children.h).
#include "children.h"

#include <errno.h>
#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../process_control.h"
#include "binding.h"
#include "state.h"

namespace cordon::binding {
namespace {

// Closes a namespace fd on the libuv threadpool: the teardown it triggers must not block the loop.
void ReleaseNamespaceOffLoop(uv_loop_t* loop, int fd) {
  if (fd < 0) return;
  uv_work_t* req = new uv_work_t();
  req->data = reinterpret_cast<void*>(static_cast<intptr_t>(fd));
  int err = uv_queue_work(
      loop, req, [](uv_work_t* r) { close(static_cast<int>(reinterpret_cast<intptr_t>(r->data))); },
      [](uv_work_t* r, int /*status*/) { delete r; });
  if (err != 0) {
    close(fd);
    delete req;
  }
}

void OnChildClosed(uv_handle_t* handle) {
  ChildHandle* child = static_cast<ChildHandle*>(handle->data);
  close(child->pidfd);
  ReleaseNamespaceOffLoop(child->table->loop, child->mountNamespaceFd);
  delete child;
}

void OnChildReadable(uv_poll_t* poll, int /*status*/, int /*events*/) {
  ChildHandle* child = static_cast<ChildHandle*>(poll->data);
  ChildExit ended;
  if (!TryReap(child->pidfd, &ended)) return;  // spurious wakeup: not exited yet
  const struct rusage& usage = ended.usage;

  uv_poll_stop(poll);
  child->table->children.erase(child->id);
  Napi::Env env(child->table->env);
  Napi::HandleScope scope(env);
  Napi::Value code = env.Null();
  Napi::Value signal = env.Null();
  if (ended.exited) {
    code = Napi::Number::New(env, ended.status);
  } else if (ended.signaled) {
    signal = Napi::Number::New(env, ended.status);
  }
  Napi::Object ru = Napi::Object::New(env);
  ru.Set("userCPUTime", Napi::Number::New(env, usage.ru_utime.tv_sec * 1e6 + usage.ru_utime.tv_usec));
  ru.Set("systemCPUTime", Napi::Number::New(env, usage.ru_stime.tv_sec * 1e6 + usage.ru_stime.tv_usec));
  ru.Set("maxRSS", Napi::Number::New(env, usage.ru_maxrss));
  Napi::FunctionReference callback = std::move(child->onExit);
  uv_close(reinterpret_cast<uv_handle_t*>(poll), OnChildClosed);
  callback.MakeCallback(env.Global(), {code, signal, ru});
}

}  // namespace

int WatchChild(ChildTable* table, const SpawnResult& result, bool holdMountNamespace, Napi::Function onExit,
               int32_t* id) {
  ChildHandle* child = new ChildHandle();
  child->id = table->nextId++;
  child->pid = result.pid;
  child->pidfd = result.pidfd;
  child->table = table;
  child->onExit = Napi::Persistent(onExit);
  child->poll.data = child;
  if (result.mountNamespaceFd >= 0) {
    child->mountNamespaceFd = result.mountNamespaceFd;  // a standby's, opened beforehand
  } else if (holdMountNamespace) {
    // The pidfd keeps the pid from being reused, so this is the child's (or nothing, when it
    // has already exited: then its teardown was simply not deferred).
    child->mountNamespaceFd = OpenMountNamespace(child->pid);
  }
  int uvErr = uv_poll_init(table->loop, &child->poll, child->pidfd);
  if (uvErr == 0) uvErr = uv_poll_start(&child->poll, UV_READABLE, OnChildReadable);
  if (uvErr != 0) {
    // Cannot watch it: do not leave an unreaped child behind.
    KillAndReap(child->pid, child->pidfd, true);
    if (uv_is_active(reinterpret_cast<uv_handle_t*>(&child->poll)) || uvErr != UV_EINVAL) {
      uv_close(reinterpret_cast<uv_handle_t*>(&child->poll), OnChildClosed);
    } else {
      close(child->pidfd);
      if (child->mountNamespaceFd >= 0) close(child->mountNamespaceFd);
      delete child;
    }
    return uvErr;
  }
  table->children[child->id] = child;
  *id = child->id;
  return 0;
}

void ForgetChildren(ChildTable* table) {
  for (auto& entry : table->children) {
    ChildHandle* child = entry.second;
    KillChild(child->pid, child->pidfd, true);
    uv_poll_stop(&child->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(&child->poll), [](uv_handle_t* h) {
      ChildHandle* c = static_cast<ChildHandle*>(h->data);
      ChildExit ignored;
      TryReap(c->pidfd, &ignored);  // it may still be exiting: the host is going anyway
      close(c->pidfd);
      if (c->mountNamespaceFd >= 0) close(c->mountNamespaceFd);
      c->onExit.Reset();
      delete c;
    });
  }
  table->children.clear();
}

Napi::Value SignalChildJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) return ThrowType(env, "signalChild(id, signal)");
  ChildTable& table = GetState(env)->children;
  auto it = table.children.find(info[0].As<Napi::Number>().Int32Value());
  if (it == table.children.end()) return Napi::Number::New(env, -ESRCH);
  return Napi::Number::New(env, SignalChild(it->second->pidfd, info[1].As<Napi::Number>().Int32Value()));
}

Napi::Value RefChildJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber()) return ThrowType(env, "refChild(id, ref)");
  ChildTable& table = GetState(env)->children;
  auto it = table.children.find(info[0].As<Napi::Number>().Int32Value());
  if (it != table.children.end()) {
    uv_handle_t* h = reinterpret_cast<uv_handle_t*>(&it->second->poll);
    if (info[1].ToBoolean()) uv_ref(h); else uv_unref(h);
  }
  return env.Undefined();
}

// The environment cleanup hook (GetState registers it).
void OnEnvTeardown(void* arg) {
  AddonState* state = static_cast<AddonState*>(arg);
  ForgetChildren(&state->children);
  state->pool.Teardown();
}

}  // namespace cordon::binding
