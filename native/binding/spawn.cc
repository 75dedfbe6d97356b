// spawn(), newSandboxKey(), releaseStandbys(): a JS spawn request through the plan cache and
// the standby pool to Spawn (spawn.h), and the child back to JS as a watched handle.
#include <napi.h>

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include <memory>
#include <string>

#include "../errno_name.h"
#include "../fd_message.h"
#include "../plan.h"
#include "../process_control.h"
#include "../spawn.h"
#include "../spawn_fds.h"
#include "binding.h"
#include "convert.h"
#include "state.h"

namespace cordon::binding {
namespace {

// The sandbox part of the plan: cached under its sandboxKey (src/plan.ts's number for this merged
// plan; 0: none, read every time), else read now. nullptr once it has thrown.
std::shared_ptr<const SandboxPlan> ResolveSandbox(Napi::Env env, AddonState* state, Napi::Object planObject,
                                                  double key, CachedSandbox** cached) {
  *cached = key != 0 ? state->pool.Lookup(key) : nullptr;
  if (*cached) return (*cached)->plan;
  std::shared_ptr<SandboxPlan> read = NewOwningSandboxPlan();
  std::string error;
  if (!ReadSandbox(planObject, read.get(), &error)) {
    read->landlockRulesetFd = -1;  // not ours yet: the value is the caller's fd
    ThrowType(env, error);
    return nullptr;
  }
  if (int rc = TakeRulesetCopy(read.get()); rc < 0) {
    ThrowErrno(env, -rc, "fcntl(F_DUPFD_CLOEXEC) of the Landlock ruleset");
    return nullptr;
  }
  if (key != 0) *cached = state->pool.Remember(key, read);
  return read;
}

// Fills command.stdio from the stdio specs: an fd of the host's, 'ignore' (/dev/null) or 'pipe'
// (made in fds). False once it has thrown.
bool PrepareStdio(Napi::Env env, AddonState* state, Napi::Array stdio, CommandPlan* command, SpawnFds* fds) {
  for (uint32_t i = 0; i < 3; i++) {
    Napi::Value spec = stdio.Get(i);
    if (spec.IsNumber()) {
      command->stdio[i] = spec.As<Napi::Number>().Int32Value();
    } else if (spec.IsString() && spec.As<Napi::String>().Utf8Value() == "ignore") {
      if (state->devNull < 0) {
        int fd = OpenDevNull();
        if (fd < 0) return ThrowErrno(env, -fd, "open /dev/null"), false;
        state->devNull = fd;
      }
      command->stdio[i] = state->devNull;
    } else if (spec.IsString() && spec.As<Napi::String>().Utf8Value() == "pipe") {
      int childEnd = fds->Pipe(static_cast<int>(i));
      if (childEnd < 0) return ThrowErrno(env, -childEnd, "pipe2"), false;
      command->stdio[i] = childEnd;
    } else {
      return ThrowType(env, "invalid stdio[" + std::to_string(i) + "]"), false;
    }
  }
  return true;
}

Napi::Value ThrowChildSetup(Napi::Env env, const SpawnResult& result) {
  const char* step = ChildStepName(result.failedStep);
  Napi::Error e = Napi::Error::New(env, std::string("sandbox setup failed at ") + step + ": " + strerror(result.childErrno));
  e.Set("code", Napi::String::New(env, "ERR_CORDON_CHILD_SETUP"));
  e.Set("step", Napi::String::New(env, step));
  e.Set("errno", Napi::Number::New(env, -result.childErrno));
  e.Set("errnoCode", Napi::String::New(env, ErrnoName(result.childErrno)));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace

// spawn(plan, stdio: Array<'pipe'|'ignore'|number>, onExit) -> { id, pid, stdio: [fd|-1 x3], listenerFds }
Napi::Value SpawnJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsArray() || !info[2].IsFunction()) {
    return ThrowType(env, "spawn(plan, stdio, onExit): bad arguments");
  }
  AddonState* state = GetState(env);
  Napi::Object planObject = info[0].As<Napi::Object>();
  double key = 0;
  if (planObject.Get("sandboxKey").IsNumber()) key = planObject.Get("sandboxKey").As<Napi::Number>().DoubleValue();
  const bool prewarm = planObject.Get("prewarm").ToBoolean();
  if (planObject.Get("supersedesKey").IsNumber()) {
    state->pool.Supersede(planObject.Get("supersedesKey").As<Napi::Number>().DoubleValue());
  }
  CachedSandbox* cached;
  std::shared_ptr<const SandboxPlan> sandbox = ResolveSandbox(env, state, planObject, key, &cached);
  if (!sandbox) return env.Undefined();
  CommandPlan command;
  std::string error;
  if (!ReadCommand(planObject, &command, &error)) return ThrowType(env, error);

  SpawnFds fds;  // closes what it holds on every return below
  if (!PrepareStdio(env, state, info[1].As<Napi::Array>(), &command, &fds)) return env.Undefined();
  // The listeners come back from the child's network namespace over a socketpair.
  if (!sandbox->listeners.empty()) {
    command.listenerHandoffFd = fds.Handoff();
    if (command.listenerHandoffFd < 0) return ThrowErrno(env, -command.listenerHandoffFd, "socketpair");
  }
  SpawnResult result;
  int rc = state->pool.Spawn(key, prewarm, cached, sandbox, command, &result);
  int listenerFds[kMaxListeners];
  for (int& fd : listenerFds) fd = -1;
  const bool listenersReceived = command.listenerHandoffFd >= 0 && rc == 0 && result.failedStep == 0 &&
                                 ReceiveListeners(fds.handoffReceiveEnd(), listenerFds, sandbox->listeners.size()) == 0 &&
                                 listenerFds[0] >= 0;
  fds.CloseChildEnds();
  auto closeListeners = [&listenerFds]() {
    for (int fd : listenerFds) if (fd >= 0) close(fd);
  };
  if (rc < 0) return ThrowErrno(env, -rc, "clone");
  if (!sandbox->listeners.empty() && result.failedStep == 0 && !listenersReceived) {
    closeListeners();
    // The child exec'd without handing over its listeners: should not happen; never leave it
    // running without the proxy it was promised.
    KillAndReap(result.pid, result.pidfd, false);
    close(result.pidfd);
    return ThrowErrno(env, EPROTO, "receive proxy listeners");
  }
  if (result.failedStep != 0) return ThrowChildSetup(env, result);

  int32_t id;
  int uvErr = WatchChild(&state->children, result, sandbox->namespaceFlags & CLONE_NEWNS, info[2].As<Napi::Function>(), &id);
  if (uvErr != 0) {
    closeListeners();
    Napi::Error::New(env, std::string("uv_poll on pidfd failed: ") + uv_strerror(uvErr)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("id", id);
  out.Set("pid", result.pid);
  int parentEnds[3];
  fds.ReleaseParentEnds(parentEnds);
  Napi::Array stdio = Napi::Array::New(env, 3);
  for (uint32_t i = 0; i < 3; i++) stdio.Set(i, parentEnds[i]);
  out.Set("stdio", stdio);
  Napi::Array listenerArray = Napi::Array::New(env);
  for (size_t i = 0; i < sandbox->listeners.size(); i++) listenerArray.Set(static_cast<uint32_t>(i), listenerFds[i]);
  out.Set("listenerFds", listenerArray);
  return out;
}

// newSandboxKey() -> a key for a new sandbox plan, unique in this environment (and so across
// copies of the TS layer that load this one addon).
Napi::Value NewSandboxKeyJs(const Napi::CallbackInfo& info) {
  AddonState* state = GetState(info.Env());
  return Napi::Number::New(info.Env(), ++state->lastSandboxKey);
}

// releaseStandbys() -> how many standby children were discarded (killed and reaped).
Napi::Value ReleaseStandbysJs(const Napi::CallbackInfo& info) {
  size_t count = GetState(info.Env())->pool.ReleaseAll();
  return Napi::Number::New(info.Env(), static_cast<double>(count));
}

}  // namespace cordon::binding
