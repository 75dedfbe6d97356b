// The N-API binding: the only file that includes napi.h. It converts JS values to the plain
// structs of the concern files (probe.h, spawn.h, landlock.h, bpf.h), calls them, and turns
// their -errno results into JS errors. No kernel logic lives here.
#include <napi.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "bpf.h"
#include "errno_name.h"
#include "fd_message.h"
#include "landlock.h"
#include "netns.h"
#include "probe.h"
#include "process_control.h"
#include "revalidate.h"
#include "spawn.h"
#include "standby.h"

namespace {

// Throws a Node-shaped system error (code = errno name, errno, syscall) and returns undefined.
Napi::Value ThrowErrno(Napi::Env env, int err, const char* syscallName) {
  Napi::Error e = Napi::Error::New(env, std::string(syscallName) + " failed: " + strerror(err));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("code", Napi::String::New(env, cordon::ErrnoName(err)));
  e.Set("syscall", Napi::String::New(env, syscallName));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value ThrowType(Napi::Env env, const std::string& message) {
  Napi::TypeError::New(env, "cordon native: " + message).ThrowAsJavaScriptException();
  return env.Undefined();
}

// ---------------------------------------------------------------------------------------------
// probe (probe.h)
Napi::Value ProbeKernel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  cordon::KernelProbe p = cordon::ProbeKernel();
  Napi::Object o = Napi::Object::New(env);
  o.Set("landlockAbi", p.landlockAbi);
  o.Set("landlockErrno", p.landlockErrno);
  o.Set("landlockErrata", p.landlockErrata);
  o.Set("seccompFilter", p.seccompFilter);
  o.Set("seccompKillProcess", p.seccompKillProcess);
  o.Set("seccompLog", p.seccompLog);
  o.Set("seccompUserNotif", p.seccompUserNotif);
  o.Set("userNamespaces", p.userNamespaces);
  o.Set("userNamespacesErrno", p.userNamespacesErrno);
  o.Set("mountNamespace", p.mountNamespace);
  o.Set("pidNamespace", p.pidNamespace);
  o.Set("networkNamespace", p.networkNamespace);
  o.Set("ipcNamespace", p.ipcNamespace);
  o.Set("x32Syscalls", p.x32Syscalls);
  o.Set("pidfd", p.pidfd);
  o.Set("closeRange", p.closeRange);
  o.Set("isRoot", p.isRoot);
  o.Set("arch", p.arch);
  o.Set("release", p.release);
  Napi::Object v2 = Napi::Object::New(env);
  v2.Set("mounted", p.cgroupV2.mounted);
  v2.Set("mountPoint", p.cgroupV2.mountPoint);
  v2.Set("ownCgroup", p.cgroupV2.ownCgroup);
  v2.Set("writable", p.cgroupV2.writable);
  v2.Set("controllers", p.cgroupV2.controllers);
  v2.Set("hasKill", p.cgroupV2.hasKill);
  o.Set("cgroupV2", v2);
  Napi::Object v1 = Napi::Object::New(env);
  v1.Set("memoryDir", p.cgroupV1.memoryDir);
  v1.Set("memoryWritable", p.cgroupV1.memoryWritable);
  v1.Set("pidsDir", p.cgroupV1.pidsDir);
  v1.Set("pidsWritable", p.cgroupV1.pidsWritable);
  o.Set("cgroupV1", v1);
  return o;
}

// ---------------------------------------------------------------------------------------------
// landlock (landlock.h) -- BEGIN landlock region (owned by the Landlock work)
// Reads a non-negative integer property that must fit the uint64 masks of landlock.h. JS numbers
// hold every Landlock mask exactly (the highest right is bit 16).
bool LandlockGetMask(Napi::Object o, const char* key, uint64_t* out) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) {
    *out = 0;
    return true;
  }
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 9007199254740991.0 || d != static_cast<double>(static_cast<uint64_t>(d))) return false;
  *out = static_cast<uint64_t>(d);
  return true;
}

// createRuleset({handledAccessFs, handledAccessNet, scoped, pathRules: [{path, access}],
// netRules: [{port, access}]}) -> fd (O_CLOEXEC). Throws a Node-shaped error naming the rule.
Napi::Value LandlockCreateRuleset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) return ThrowType(env, "createRuleset(spec): spec must be an object");
  Napi::Object o = info[0].As<Napi::Object>();
  cordon::LandlockRulesetSpec spec;
  if (!LandlockGetMask(o, "handledAccessFs", &spec.handledAccessFs) ||
      !LandlockGetMask(o, "handledAccessNet", &spec.handledAccessNet) ||
      !LandlockGetMask(o, "scoped", &spec.scoped)) {
    return ThrowType(env, "createRuleset(spec): handledAccessFs, handledAccessNet and scoped must be non-negative integers");
  }
  Napi::Value pr = o.Get("pathRules");
  if (!pr.IsArray()) return ThrowType(env, "createRuleset(spec): pathRules must be an array");
  Napi::Array paths = pr.As<Napi::Array>();
  for (uint32_t i = 0; i < paths.Length(); ++i) {
    Napi::Value e = paths.Get(i);
    if (!e.IsObject()) return ThrowType(env, "createRuleset(spec): pathRules[" + std::to_string(i) + "] must be an object");
    Napi::Object r = e.As<Napi::Object>();
    Napi::Value p = r.Get("path");
    cordon::LandlockPathRule rule{"", 0};
    if (!p.IsString() || !LandlockGetMask(r, "access", &rule.allowedAccess)) {
      return ThrowType(env, "createRuleset(spec): pathRules[" + std::to_string(i) + "] must be {path: string, access: integer}");
    }
    rule.path = p.As<Napi::String>().Utf8Value();
    if (rule.path.empty() || rule.path[0] != '/' || rule.path.find('\0') != std::string::npos) {
      return ThrowType(env, "createRuleset(spec): pathRules[" + std::to_string(i) + "].path must be absolute");
    }
    spec.pathRules.push_back(std::move(rule));
  }
  Napi::Value nr = o.Get("netRules");
  if (!nr.IsUndefined()) {
    if (!nr.IsArray()) return ThrowType(env, "createRuleset(spec): netRules must be an array");
    Napi::Array nets = nr.As<Napi::Array>();
    for (uint32_t i = 0; i < nets.Length(); ++i) {
      Napi::Value e = nets.Get(i);
      cordon::LandlockNetRule rule{0, 0};
      if (!e.IsObject() || !LandlockGetMask(e.As<Napi::Object>(), "port", &rule.port) ||
          !LandlockGetMask(e.As<Napi::Object>(), "access", &rule.allowedAccess) || rule.port > 65535) {
        return ThrowType(env, "createRuleset(spec): netRules[" + std::to_string(i) + "] must be {port: 0..65535, access: integer}");
      }
      spec.netRules.push_back(rule);
    }
  }
  cordon::LandlockBuildError where;
  int fd = cordon::BuildLandlockRuleset(spec, &where);
  if (fd < 0) {
    int err = -fd;
    std::string what = where.syscallName;
    if (where.ruleIndex >= 0 && where.isNetRule) {
      what += " (net rule for port " + std::to_string(spec.netRules[where.ruleIndex].port) + ")";
    } else if (where.ruleIndex >= 0) {
      what += " (rule for " + spec.pathRules[where.ruleIndex].path + ")";
    }
    Napi::Error e = Napi::Error::New(env, what + " failed: " + strerror(err));
    e.Set("errno", Napi::Number::New(env, -err));
    e.Set("code", Napi::String::New(env, cordon::ErrnoName(err)));
    e.Set("syscall", Napi::String::New(env, where.syscallName));
    if (where.ruleIndex >= 0 && !where.isNetRule) e.Set("path", Napi::String::New(env, spec.pathRules[where.ruleIndex].path));
    e.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// closeRuleset(fd): releases a cached ruleset (a plain close(2); EBADF is reported).
Napi::Value LandlockCloseRuleset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return ThrowType(env, "closeRuleset(fd): fd must be a number");
  int fd = info[0].As<Napi::Number>().Int32Value();
  if (fd < 0) return ThrowType(env, "closeRuleset(fd): fd must be >= 0");
  int rc = cordon::CloseLandlockRuleset(fd);
  if (rc < 0) return ThrowErrno(env, -rc, "close");
  return env.Undefined();
}

// abiVersion() -> highest Landlock ABI of this kernel, or -errno.
Napi::Value LandlockAbi(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), cordon::LandlockAbiVersion());
}

// mountFlags(path) -> the per-mount flags a read-only bind remount of path must preserve.
Napi::Value LandlockMountFlags(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return ThrowType(env, "mountFlags(path): path must be a string");
  long flags = cordon::MountPreservedFlags(info[0].As<Napi::String>().Utf8Value());
  if (flags < 0) return ThrowErrno(env, static_cast<int>(-flags), "statvfs");
  return Napi::Number::New(env, static_cast<double>(flags));
}

Napi::Object LandlockExports(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("createRuleset", Napi::Function::New(env, LandlockCreateRuleset, "createRuleset"));
  o.Set("closeRuleset", Napi::Function::New(env, LandlockCloseRuleset, "closeRuleset"));
  o.Set("abiVersion", Napi::Function::New(env, LandlockAbi, "abiVersion"));
  o.Set("mountFlags", Napi::Function::New(env, LandlockMountFlags, "mountFlags"));
  return o;
}
// -- END landlock region

// ---------------------------------------------------------------------------------------------
// seccomp (bpf.h) -- BEGIN seccomp region (owned by the seccomp work)
// compileSeccompProgram(spec) -> Buffer of struct sock_filter. src/seccomp builds the spec (rule
// data); this only checks its shape and converts it. Shape errors throw TypeError, compile
// errors an Error with code EINVAL/E2BIG and the compiler's reason.

// A whole number in [0, max]; false for anything else (NaN, fractions, negatives).
bool SeccompUint(const Napi::Value& v, uint64_t max, uint64_t* out) {
  if (!v.IsNumber()) return false;
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > static_cast<double>(max) || d != static_cast<double>(static_cast<uint64_t>(d))) {
    return false;
  }
  *out = static_cast<uint64_t>(d);
  return true;
}

bool SeccompU64(const Napi::Value& v, uint64_t* out) {
  if (!v.IsBigInt()) return false;
  bool lossless = false;
  *out = v.As<Napi::BigInt>().Uint64Value(&lossless);
  return lossless;
}

bool SeccompCheckFrom(const Napi::Value& v, cordon::ArgCheck* c) {
  if (!v.IsObject()) return false;
  Napi::Object o = v.As<Napi::Object>();
  uint64_t arg = 0, width = 0;
  if (!SeccompUint(o.Get("arg"), 5, &arg) || !SeccompUint(o.Get("width"), 64, &width)) return false;
  if (width != 32 && width != 64) return false;
  Napi::Value op = o.Get("op");
  if (!op.IsString()) return false;
  const std::string ops = op.As<Napi::String>().Utf8Value();
  if (ops == "eq") {
    c->op = cordon::ArgOp::kMaskedEq;
  } else if (ops == "any") {
    c->op = cordon::ArgOp::kAnyBits;
  } else {
    return false;
  }
  c->arg = static_cast<uint8_t>(arg);
  c->width = width == 32 ? cordon::ArgWidth::kLow32 : cordon::ArgWidth::k64;
  return SeccompU64(o.Get("mask"), &c->mask) && SeccompU64(o.Get("value"), &c->value);
}

bool SeccompRuleFrom(const Napi::Value& v, cordon::SeccompRule* r) {
  if (!v.IsObject()) return false;
  Napi::Object o = v.As<Napi::Object>();
  uint64_t nr = 0, action = 0;
  if (!SeccompUint(o.Get("nr"), 0xffffffffu, &nr) || !SeccompUint(o.Get("action"), 0xffffffffu, &action)) {
    return false;
  }
  r->nr = static_cast<uint32_t>(nr);
  r->action = static_cast<uint32_t>(action);
  Napi::Value reason = o.Get("reason");
  if (!reason.IsString()) return false;
  r->reason = reason.As<Napi::String>().Utf8Value();
  Napi::Value clauses = o.Get("clauses");
  if (!clauses.IsArray()) return false;
  Napi::Array ca = clauses.As<Napi::Array>();
  for (uint32_t i = 0; i < ca.Length(); ++i) {
    if (!ca.Get(i).IsObject()) return false;
    Napi::Object co = ca.Get(i).As<Napi::Object>();
    cordon::ArgClause clause;
    uint64_t ca_action = 0;
    if (!SeccompUint(co.Get("action"), 0xffffffffu, &ca_action)) return false;
    clause.action = static_cast<uint32_t>(ca_action);
    Napi::Value checks = co.Get("checks");
    if (!checks.IsArray()) return false;
    Napi::Array ka = checks.As<Napi::Array>();
    for (uint32_t j = 0; j < ka.Length(); ++j) {
      cordon::ArgCheck check;
      if (!SeccompCheckFrom(ka.Get(j), &check)) return false;
      clause.checks.push_back(check);
    }
    r->clauses.push_back(std::move(clause));
  }
  return true;
}

Napi::Value CompileSeccompProgram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* shape =
      "compileSeccompProgram(spec): spec must be { arch: 'x86_64' | 'aarch64', defaultAction, "
      "rules: [{ nr, action, reason, clauses: [{ action, checks: [{ arg, width: 32 | 64, "
      "op: 'eq' | 'any', mask: bigint, value: bigint }] }] }] }";
  if (info.Length() != 1 || !info[0].IsObject()) return ThrowType(env, shape);
  Napi::Object o = info[0].As<Napi::Object>();
  cordon::SeccompSpec spec;
  Napi::Value arch = o.Get("arch");
  if (!arch.IsString()) return ThrowType(env, shape);
  const std::string archName = arch.As<Napi::String>().Utf8Value();
  if (archName == "x86_64") {
    spec.arch = cordon::SeccompArch::kX86_64;
  } else if (archName == "aarch64") {
    spec.arch = cordon::SeccompArch::kAarch64;
  } else {
    return ThrowType(env, shape);
  }
  uint64_t defaultAction = 0;
  if (!SeccompUint(o.Get("defaultAction"), 0xffffffffu, &defaultAction)) return ThrowType(env, shape);
  spec.defaultAction = static_cast<uint32_t>(defaultAction);
  Napi::Value rules = o.Get("rules");
  if (!rules.IsArray()) return ThrowType(env, shape);
  Napi::Array ra = rules.As<Napi::Array>();
  for (uint32_t i = 0; i < ra.Length(); ++i) {
    cordon::SeccompRule rule;
    if (!SeccompRuleFrom(ra.Get(i), &rule)) return ThrowType(env, shape);
    spec.rules.push_back(std::move(rule));
  }

  std::vector<sock_filter> program;
  std::string reason;
  if (int rc = cordon::CompileSeccomp(spec, &program, &reason); rc != 0) {
    Napi::Error e = Napi::Error::New(env, "cordon native: seccomp program: " + reason);
    e.Set("errno", Napi::Number::New(env, rc));
    e.Set("code", Napi::String::New(env, cordon::ErrnoName(-rc)));
    e.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(program.data()),
                                     program.size() * sizeof(sock_filter));
}
// -- END seccomp region

// ---------------------------------------------------------------------------------------------
// spawn (spawn.h) -- BEGIN spawn region
// Children are handles on the event loop: a uv_poll on the pidfd wakes us when the child
// exits, then waitid(P_PIDFD) reaps exactly that child (never waitpid(-1): Node's own
// child_process must keep its statuses). No SIGCHLD handler, no timer.

struct ChildHandle;

// A sandbox plan read from JS, cached under the key src/plan.ts gives each merged plan (a new
// key whenever the plan changes), so an exec loop converts mounts and BPF once.
struct CachedSandbox {
  double key = 0;
  std::shared_ptr<const cordon::SandboxPlan> plan;
  int spawns = 0;
};

struct StandbySlot {
  double key = 0;
  uint64_t createdMs = 0;
  std::unique_ptr<cordon::Standby> standby;
};

// Standby children (spawn.h): a sandbox spawned a second time gets one made for its next
// spawn, on the loop's next idle turn (the host thread is idle while the command runs). At most
// kMaxStandbys exist; one unused for kStandbyIdleMs is discarded; none keeps the loop alive.
constexpr size_t kMaxCachedSandboxes = 8;
constexpr size_t kMaxStandbys = 2;
constexpr uint64_t kStandbyIdleMs = 5000;

struct SpawnState {
  std::unordered_map<int32_t, ChildHandle*> children;
  int32_t nextId = 1;
  int devNull = -1;
  uv_loop_t* loop = nullptr;
  napi_env env = nullptr;
  std::vector<CachedSandbox> sandboxes;  // most recently used first
  std::vector<StandbySlot> standbys;
  std::vector<double> prewarmKeys;       // standbys to make on the next idle turn
  uv_idle_t* prewarmIdle = nullptr;
  uv_timer_t* standbyExpiry = nullptr;
  double lastSandboxKey = 0;
};

struct ChildHandle {
  uv_poll_t poll;
  int32_t id = 0;
  pid_t pid = -1;
  int pidfd = -1;
  // The child's mount namespace, held open while it runs: the last reference to a mount
  // namespace tears its whole mount tree down (umount, an RCU grace period), and in the exiting
  // child that work sits between exit and the pidfd turning readable. Held here, it is dropped
  // on the threadpool after the exit is delivered (ReleaseNamespaceOffLoop). -1: none.
  int mountNamespaceFd = -1;
  SpawnState* state = nullptr;
  Napi::FunctionReference onExit;
};

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

void KillAndForgetChildren(void* arg) {
  // Env teardown (host exit or worker termination): no sandboxed child outlives its host.
  SpawnState* state = static_cast<SpawnState*>(arg);
  for (auto& entry : state->children) {
    ChildHandle* child = entry.second;
    cordon::KillChild(child->pid, child->pidfd, true);
    uv_poll_stop(&child->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(&child->poll), [](uv_handle_t* h) {
      ChildHandle* c = static_cast<ChildHandle*>(h->data);
      cordon::ChildExit ignored;
      cordon::TryReap(c->pidfd, &ignored);  // it may still be exiting: the host is going anyway
      close(c->pidfd);
      if (c->mountNamespaceFd >= 0) close(c->mountNamespaceFd);
      c->onExit.Reset();
      delete c;
    });
  }
  state->children.clear();
  for (StandbySlot& slot : state->standbys) cordon::DiscardStandby(slot.standby.get());
  state->standbys.clear();
  state->prewarmKeys.clear();
  auto closeHandle = [](uv_handle_t* h) {
    uv_close(h, [](uv_handle_t* closed) { delete closed; });
  };
  if (state->prewarmIdle) closeHandle(reinterpret_cast<uv_handle_t*>(state->prewarmIdle));
  if (state->standbyExpiry) closeHandle(reinterpret_cast<uv_handle_t*>(state->standbyExpiry));
  state->prewarmIdle = nullptr;
  state->standbyExpiry = nullptr;
}

// Kills and reaps a standby on the threadpool (the reap waits for its exit).
void DiscardStandbyOffLoop(uv_loop_t* loop, std::unique_ptr<cordon::Standby> standby) {
  uv_work_t* req = new uv_work_t();
  req->data = standby.release();
  int err = uv_queue_work(
      loop, req, [](uv_work_t* r) { cordon::DiscardStandby(static_cast<cordon::Standby*>(r->data)); },
      [](uv_work_t* r, int /*status*/) {
        delete static_cast<cordon::Standby*>(r->data);
        delete r;
      });
  if (err != 0) {
    std::unique_ptr<cordon::Standby> s(static_cast<cordon::Standby*>(req->data));
    cordon::DiscardStandby(s.get());
    delete req;
  }
}

std::unique_ptr<cordon::Standby> TakeStandby(SpawnState* state, double key) {
  for (auto it = state->standbys.begin(); it != state->standbys.end(); ++it) {
    if (it->key == key) {
      std::unique_ptr<cordon::Standby> s = std::move(it->standby);
      state->standbys.erase(it);
      return s;
    }
  }
  return nullptr;
}

void ArmStandbyExpiry(SpawnState* state);

void OnStandbyExpiry(uv_timer_t* timer) {
  SpawnState* state = static_cast<SpawnState*>(timer->data);
  uint64_t now = uv_now(state->loop);
  for (auto it = state->standbys.begin(); it != state->standbys.end();) {
    if (now - it->createdMs >= kStandbyIdleMs) {
      DiscardStandbyOffLoop(state->loop, std::move(it->standby));
      it = state->standbys.erase(it);
    } else {
      ++it;
    }
  }
  ArmStandbyExpiry(state);
}

void ArmStandbyExpiry(SpawnState* state) {
  if (state->standbys.empty() || state->standbyExpiry == nullptr) return;
  uint64_t oldest = state->standbys.front().createdMs;
  for (const StandbySlot& slot : state->standbys) oldest = std::min(oldest, slot.createdMs);
  uint64_t now = uv_now(state->loop);
  uint64_t due = oldest + kStandbyIdleMs > now ? oldest + kStandbyIdleMs - now : 0;
  uv_timer_start(state->standbyExpiry, OnStandbyExpiry, due, 0);
}

// Makes a standby for key unless one is there or the slots are full; true when it made one.
// Full: the ones there wait for their sandboxes (or expire). Evicting them would make three
// sandboxes used in turn pay for a standby per spawn and use none.
bool MakeStandby(SpawnState* state, double key, const std::shared_ptr<const cordon::SandboxPlan>& plan) {
  for (const StandbySlot& slot : state->standbys) {
    if (slot.key == key) return false;
  }
  if (state->standbys.size() >= kMaxStandbys) return false;
  std::unique_ptr<cordon::Standby> standby;
  if (cordon::StartStandby(plan, &standby) != 0) return false;  // the next spawn clones as usual
  state->standbys.push_back({key, uv_now(state->loop), std::move(standby)});
  return true;
}

void OnPrewarmIdle(uv_idle_t* idle) {
  SpawnState* state = static_cast<SpawnState*>(idle->data);
  uv_idle_stop(idle);
  std::vector<double> keys;
  keys.swap(state->prewarmKeys);
  for (double key : keys) {
    for (const CachedSandbox& c : state->sandboxes) {
      if (c.key == key) MakeStandby(state, key, c.plan);
    }
  }
  uv_update_time(state->loop);
  ArmStandbyExpiry(state);
}

// While a standby launches its command, the host thread would only wait for its verdict: the
// next spawn's standby is made then (an exec loop's next spawn is of the same sandbox) rather
// than on the next idle turn, where its clone would sit between the command's exit and its
// delivery. Measured here: ~60 µs less per spawn of an exec loop.
struct NextStandby {
  SpawnState* state;
  double key;
  std::shared_ptr<const cordon::SandboxPlan> plan;
  bool made = false;
};
void MakeNextStandby(void* arg) {
  NextStandby* next = static_cast<NextStandby*>(arg);
  next->made = MakeStandby(next->state, next->key, next->plan);
}

void SchedulePrewarm(SpawnState* state, double key) {
  if (state->prewarmIdle == nullptr) {
    state->prewarmIdle = new uv_idle_t();
    state->standbyExpiry = new uv_timer_t();
    uv_idle_init(state->loop, state->prewarmIdle);
    uv_timer_init(state->loop, state->standbyExpiry);
    state->prewarmIdle->data = state;
    state->standbyExpiry->data = state;
    uv_unref(reinterpret_cast<uv_handle_t*>(state->prewarmIdle));
    uv_unref(reinterpret_cast<uv_handle_t*>(state->standbyExpiry));
  }
  for (double k : state->prewarmKeys) {
    if (k == key) return;
  }
  state->prewarmKeys.push_back(key);
  uv_idle_start(state->prewarmIdle, OnPrewarmIdle);
}

// The cached sandbox for key (moved to the front), or nullptr.
CachedSandbox* LookupSandbox(SpawnState* state, double key) {
  for (size_t i = 0; i < state->sandboxes.size(); i++) {
    if (state->sandboxes[i].key == key) {
      if (i > 0) std::rotate(state->sandboxes.begin(), state->sandboxes.begin() + i, state->sandboxes.begin() + i + 1);
      return &state->sandboxes.front();
    }
  }
  return nullptr;
}

CachedSandbox* RememberSandbox(SpawnState* state, double key, std::shared_ptr<const cordon::SandboxPlan> plan) {
  if (state->sandboxes.size() >= kMaxCachedSandboxes) state->sandboxes.pop_back();
  state->sandboxes.insert(state->sandboxes.begin(), CachedSandbox{key, std::move(plan), 0});
  return &state->sandboxes.front();
}

SpawnState* GetSpawnState(Napi::Env env) {
  SpawnState* state = env.GetInstanceData<SpawnState>();
  if (state == nullptr) {
    state = new SpawnState();
    state->env = env;
    napi_get_uv_event_loop(env, &state->loop);
    env.SetInstanceData(state);
    napi_add_env_cleanup_hook(env, KillAndForgetChildren, state);
  }
  return state;
}

void OnChildClosed(uv_handle_t* handle) {
  ChildHandle* child = static_cast<ChildHandle*>(handle->data);
  close(child->pidfd);
  ReleaseNamespaceOffLoop(child->state->loop, child->mountNamespaceFd);
  delete child;
}

void OnChildReadable(uv_poll_t* poll, int /*status*/, int /*events*/) {
  ChildHandle* child = static_cast<ChildHandle*>(poll->data);
  cordon::ChildExit ended;
  if (!cordon::TryReap(child->pidfd, &ended)) return;  // spurious wakeup: not exited yet
  const struct rusage& usage = ended.usage;

  uv_poll_stop(poll);
  child->state->children.erase(child->id);
  Napi::Env env(child->state->env);
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

bool GetInt(Napi::Object o, const char* key, int64_t* out) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) return false;
  *out = v.As<Napi::Number>().Int64Value();
  return true;
}

bool GetStrings(Napi::Value v, std::vector<std::string>* out) {
  if (!v.IsArray()) return false;
  Napi::Array a = v.As<Napi::Array>();
  out->reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value s = a.Get(i);
    if (!s.IsString()) return false;
    out->push_back(s.As<Napi::String>().Utf8Value());
  }
  return true;
}

// Reads the plan object built by src/spawn.ts. Shape errors are programming errors of our
// own TS layer, reported uniformly. The sandbox part is read once per sandboxKey (SpawnState).
bool ReadSandbox(Napi::Object o, cordon::SandboxPlan* plan, std::string* error) {
  plan->newSession = o.Get("newSession").ToBoolean();
  plan->dieWithParent = o.Get("dieWithParent").ToBoolean();
  plan->noNewPrivs = o.Get("noNewPrivs").ToBoolean();
  plan->dropCapabilities = o.Get("dropCapabilities").ToBoolean();
  plan->writeIdMaps = o.Get("writeIdMaps").ToBoolean();
  plan->loopbackUp = o.Get("loopbackUp").ToBoolean();
  plan->confineStandbyEarly = o.Get("confineStandbyEarly").ToBoolean();
  int64_t n;
  Napi::Value listeners = o.Get("listeners");
  if (listeners.IsArray()) {
    Napi::Array list = listeners.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length() && i < cordon::kMaxListeners; i++) {
      Napi::Value item = list.Get(i);
      if (!item.IsObject()) continue;
      Napi::Object spec = item.As<Napi::Object>();
      int64_t port;
      if (!GetInt(spec, "port", &port) || port <= 0 || port >= 65536) continue;
      plan->listeners.push_back({static_cast<uint16_t>(port), spec.Get("ipv6").ToBoolean().Value()});
    }
  }
  if (GetInt(o, "capLastCap", &n)) plan->capLastCap = static_cast<int>(n);
  if (GetInt(o, "namespaceFlags", &n)) plan->namespaceFlags = static_cast<int>(n);
  if (GetInt(o, "landlockRulesetFd", &n)) plan->landlockRulesetFd = static_cast<int>(n);
  if (GetInt(o, "landlockFlags", &n)) plan->landlockFlags = static_cast<uint32_t>(n);
  if (GetInt(o, "seccompFlags", &n)) plan->seccompFlags = static_cast<uint32_t>(n);
  if (GetInt(o, "sharedUserNamespaceFd", &n)) plan->sharedUserNamespaceFd = static_cast<int>(n);
  if (GetInt(o, "sharedNetworkNamespaceFd", &n)) plan->sharedNetworkNamespaceFd = static_cast<int>(n);
  plan->uid = getuid();
  plan->gid = getgid();
  Napi::Value mounts = o.Get("mounts");
  if (mounts.IsArray()) {
    Napi::Array a = mounts.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      if (!a.Get(i).IsObject()) { *error = "plan.mounts"; return false; }
      Napi::Object m = a.Get(i).As<Napi::Object>();
      cordon::MountOp op;
      int64_t kind = 0, flags = 0;
      if (!GetInt(m, "kind", &kind) || kind < cordon::MountOp::kBindReadOnly ||
          kind > cordon::MountOp::kAllowDevices || !m.Get("target").IsString()) {
        *error = "plan.mounts";
        return false;
      }
      op.kind = static_cast<cordon::MountOp::Kind>(kind);
      op.target = m.Get("target").As<Napi::String>().Utf8Value();
      if (m.Get("source").IsString()) op.source = m.Get("source").As<Napi::String>().Utf8Value();
      if (GetInt(m, "preservedFlags", &flags)) op.preservedFlags = static_cast<unsigned long>(flags);
      op.optional = m.Get("optional").IsBoolean() && m.Get("optional").As<Napi::Boolean>().Value();
      if (m.Get("data").IsString()) op.data = m.Get("data").As<Napi::String>().Utf8Value();
      int64_t slot = -1, mode = 0;
      if (GetInt(m, "slot", &slot)) op.slot = static_cast<int>(slot);
      if (GetInt(m, "mode", &mode)) op.mode = static_cast<unsigned>(mode);
      int64_t access = 0;
      if (GetInt(m, "landlockAccess", &access)) op.landlockAccess = static_cast<uint64_t>(access);
      if ((op.kind == cordon::MountOp::kDetach || op.kind == cordon::MountOp::kAttach) &&
          (op.slot < 0 || op.slot >= cordon::kMountSlots)) {
        *error = "plan.mounts (slot)";
        return false;
      }
      plan->mounts.push_back(std::move(op));
    }
  }
  Napi::Value program = o.Get("seccompProgram");
  if (program.IsBuffer()) {
    Napi::Buffer<uint8_t> b = program.As<Napi::Buffer<uint8_t>>();
    plan->seccompProgram.assign(b.Data(), b.Data() + b.Length());
  }
  return true;
}

bool ReadCommand(Napi::Object o, cordon::CommandPlan* command, std::string* error) {
  if (!o.Get("file").IsString()) { *error = "plan.file"; return false; }
  command->file = o.Get("file").As<Napi::String>().Utf8Value();
  if (!GetStrings(o.Get("argv"), &command->argv)) { *error = "plan.argv"; return false; }
  Napi::Value envp = o.Get("envp");
  if (!envp.IsString()) { *error = "plan.envp"; return false; }
  std::string block = envp.As<Napi::String>().Utf8Value();
  for (size_t start = 0, end; start < block.size(); start = end + 1) {
    end = block.find('\0', start);
    if (end == std::string::npos) { *error = "plan.envp"; return false; }  // entries are NUL-terminated
    command->envp.emplace_back(block, start, end - start);
  }
  if (o.Get("cwd").IsString()) command->cwd = o.Get("cwd").As<Napi::String>().Utf8Value();
  Napi::Value cgroupFds = o.Get("cgroupProcsFds");
  if (cgroupFds.IsArray()) {
    Napi::Array a = cgroupFds.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      if (!a.Get(i).IsNumber()) { *error = "plan.cgroupProcsFds"; return false; }
      command->cgroupProcsFds.push_back(a.Get(i).As<Napi::Number>().Int32Value());
    }
  }
  Napi::Value rl = o.Get("rlimits");
  if (rl.IsArray()) {
    Napi::Array a = rl.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Value e = a.Get(i);
      if (!e.IsArray()) { *error = "plan.rlimits"; return false; }
      Napi::Array t = e.As<Napi::Array>();
      // Infinity (RLIM_INFINITY) arrives as a non-finite double.
      auto limit = [](Napi::Value v) -> rlim_t {
        double d = v.As<Napi::Number>().DoubleValue();
        return d >= 1.8e19 || d != d ? RLIM_INFINITY : static_cast<rlim_t>(d);
      };
      if (!t.Get(0u).IsNumber() || !t.Get(1u).IsNumber() || !t.Get(2u).IsNumber()) { *error = "plan.rlimits"; return false; }
      command->rlimits.push_back({t.Get(0u).As<Napi::Number>().Int32Value(), limit(t.Get(1u)), limit(t.Get(2u))});
    }
  }
  return true;
}

// spawn(plan, stdio: Array<'pipe'|'ignore'|number>, onExit) -> { id, pid, stdio: [fd|-1 x3] }
Napi::Value SpawnChild(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsArray() || !info[2].IsFunction()) {
    return ThrowType(env, "spawn(plan, stdio, onExit): bad arguments");
  }
  SpawnState* state = GetSpawnState(env);
  Napi::Object planObject = info[0].As<Napi::Object>();
  std::string bad;
  // sandboxKey: src/plan.ts's number for this merged plan (0: none, read every time).
  double key = 0;
  if (planObject.Get("sandboxKey").IsNumber()) key = planObject.Get("sandboxKey").As<Napi::Number>().DoubleValue();
  const bool prewarm = planObject.Get("prewarm").ToBoolean();
  // A plan that replaces another of the same sandbox (its paths or host sockets changed): the
  // old one's standby would only hold a slot until it expires, leaving this one without.
  if (planObject.Get("supersedesKey").IsNumber()) {
    double old = planObject.Get("supersedesKey").As<Napi::Number>().DoubleValue();
    for (auto it = state->standbys.begin(); it != state->standbys.end();) {
      if (it->key == old) {
        DiscardStandbyOffLoop(state->loop, std::move(it->standby));
        it = state->standbys.erase(it);
      } else {
        ++it;
      }
    }
  }
  CachedSandbox* cached = key != 0 ? LookupSandbox(state, key) : nullptr;
  // The id maps hold the caller's uid/gid: a host that changed them since gets a new reading.
  if (cached && (cached->plan->uid != getuid() || cached->plan->gid != getgid())) {
    for (StandbySlot& slot : state->standbys) {
      if (slot.key == key) slot.key = -1;  // never taken again; it expires
    }
    state->sandboxes.erase(state->sandboxes.begin());  // LookupSandbox moved it to the front
    cached = nullptr;
  }
  std::shared_ptr<const cordon::SandboxPlan> sandbox;
  if (cached) {
    sandbox = cached->plan;
  } else {
    // The plan owns a duplicate of the Landlock ruleset fd, closed with the last reference to
    // the plan (the sandbox cache, a standby, a spawn in flight): JS may close its own fd at
    // any time (its plan cache is bounded), and an fd number it frees and reuses can never
    // reach a child through a plan cached here.
    std::shared_ptr<cordon::SandboxPlan> read(new cordon::SandboxPlan, [](cordon::SandboxPlan* p) {
      if (p->landlockRulesetFd >= 0) close(p->landlockRulesetFd);
      delete p;
    });
    if (!ReadSandbox(planObject, read.get(), &bad)) {
      read->landlockRulesetFd = -1;  // not ours yet: the value is the caller's fd
      return ThrowType(env, "invalid " + bad);
    }
    if (read->landlockRulesetFd >= 0) {
      read->landlockRulesetFd = fcntl(read->landlockRulesetFd, F_DUPFD_CLOEXEC, 3);
      if (read->landlockRulesetFd < 0) return ThrowErrno(env, errno, "fcntl(F_DUPFD_CLOEXEC) of the Landlock ruleset");
    }
    sandbox = read;
    if (key != 0) cached = RememberSandbox(state, key, sandbox);
  }
  cordon::CommandPlan plan;
  if (!ReadCommand(planObject, &plan, &bad)) return ThrowType(env, "invalid " + bad);

  Napi::Array stdio = info[1].As<Napi::Array>();
  int parentEnd[3] = {-1, -1, -1};
  int createdChildEnd[3] = {-1, -1, -1};
  auto closeAll = [&]() {
    for (int i = 0; i < 3; i++) {
      if (parentEnd[i] >= 0) close(parentEnd[i]);
      if (createdChildEnd[i] >= 0) close(createdChildEnd[i]);
    }
  };
  for (uint32_t i = 0; i < 3; i++) {
    Napi::Value spec = stdio.Get(i);
    if (spec.IsNumber()) {
      plan.stdio[i] = spec.As<Napi::Number>().Int32Value();
    } else if (spec.IsString() && spec.As<Napi::String>().Utf8Value() == "ignore") {
      if (state->devNull < 0) state->devNull = open("/dev/null", O_RDWR | O_CLOEXEC);
      if (state->devNull < 0) { int err = errno; closeAll(); return ThrowErrno(env, err, "open /dev/null"); }
      plan.stdio[i] = state->devNull;
    } else if (spec.IsString() && spec.As<Napi::String>().Utf8Value() == "pipe") {
      int p[2];
      // CLOEXEC on both ends: the child's end becomes fd i through dup2 (which clears the
      // flag on the copy), and neither end leaks into other children.
      if (pipe2(p, O_CLOEXEC) != 0) { int err = errno; closeAll(); return ThrowErrno(env, err, "pipe2"); }
      parentEnd[i] = i == 0 ? p[1] : p[0];
      createdChildEnd[i] = i == 0 ? p[0] : p[1];
      plan.stdio[i] = createdChildEnd[i];
    } else {
      closeAll();
      return ThrowType(env, "invalid stdio[" + std::to_string(i) + "]");
    }
  }

  // The proxy listener comes back from the child's network namespace over a socketpair.
  int handoff[2] = {-1, -1};
  if (!sandbox->listeners.empty()) {
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, handoff) != 0) {
      int err = errno;
      closeAll();
      return ThrowErrno(env, err, "socketpair");
    }
    plan.listenerHandoffFd = handoff[1];
  }
  cordon::SpawnResult result;
  int rc;
  std::unique_ptr<cordon::Standby> standby = key != 0 && prewarm ? TakeStandby(state, key) : nullptr;
  const bool wantsStandby = cached && prewarm && cordon::StandbySupported() && (sandbox->namespaceFlags & CLONE_NEWNS) &&
                            sandbox->listeners.empty() && ++cached->spawns >= 2;
  NextStandby next{state, key, sandbox};
  if (standby) {
    rc = cordon::LaunchStandby(standby.get(), plan, &result, wantsStandby ? MakeNextStandby : nullptr, &next);
    standby.reset();
    if (rc == cordon::kStandbyUnusable) rc = cordon::Spawn(*sandbox, plan, &result);
  } else {
    rc = cordon::Spawn(*sandbox, plan, &result);
  }
  if (next.made) ArmStandbyExpiry(state);
  else if (wantsStandby) SchedulePrewarm(state, key);
  int listenerFds[cordon::kMaxListeners];
  const int listenerCount = static_cast<int>(sandbox->listeners.size());
  bool listenersReceived = false;
  for (int& fd : listenerFds) fd = -1;
  if (handoff[0] >= 0) {
    if (rc == 0 && result.failedStep == 0) {
      listenersReceived = cordon::ReceiveListeners(handoff[0], listenerFds, sandbox->listeners.size()) == 0 && listenerFds[0] >= 0;
    }
    close(handoff[0]);
    close(handoff[1]);
  }
  for (int i = 0; i < 3; i++) {
    if (createdChildEnd[i] >= 0) close(createdChildEnd[i]);
    createdChildEnd[i] = -1;
  }
  if (rc < 0) {
    closeAll();
    return ThrowErrno(env, -rc, "clone");
  }
  if (!sandbox->listeners.empty() && result.failedStep == 0 && !listenersReceived) {
    for (int fd : listenerFds) if (fd >= 0) close(fd);
    // The child exec'd without handing over its listeners: should not happen; never leave it
    // running without the proxy it was promised.
    cordon::KillAndReap(result.pid, result.pidfd, false);
    close(result.pidfd);
    closeAll();
    return ThrowErrno(env, EPROTO, "receive proxy listeners");
  }
  if (result.failedStep != 0) {
    closeAll();
    Napi::Error e = Napi::Error::New(env, std::string("sandbox setup failed at ") +
                                              cordon::ChildStepName(result.failedStep) + ": " +
                                              strerror(result.childErrno));
    e.Set("code", Napi::String::New(env, "ERR_CORDON_CHILD_SETUP"));
    e.Set("step", Napi::String::New(env, cordon::ChildStepName(result.failedStep)));
    e.Set("errno", Napi::Number::New(env, -result.childErrno));
    e.Set("errnoCode", Napi::String::New(env, cordon::ErrnoName(result.childErrno)));
    e.ThrowAsJavaScriptException();
    return env.Undefined();
  }

  ChildHandle* child = new ChildHandle();
  child->id = state->nextId++;
  child->pid = result.pid;
  child->pidfd = result.pidfd;
  child->state = state;
  child->onExit = Napi::Persistent(info[2].As<Napi::Function>());
  child->poll.data = child;
  if (result.mountNamespaceFd >= 0) {
    child->mountNamespaceFd = result.mountNamespaceFd;  // a standby's, opened beforehand
  } else if (sandbox->namespaceFlags & CLONE_NEWNS) {
    // The pidfd keeps the pid from being reused, so this is the child's (or nothing, when it
    // has already exited: then its teardown was simply not deferred).
    child->mountNamespaceFd = cordon::OpenMountNamespace(child->pid);
  }
  int uvErr = uv_poll_init(state->loop, &child->poll, child->pidfd);
  if (uvErr == 0) uvErr = uv_poll_start(&child->poll, UV_READABLE, OnChildReadable);
  if (uvErr != 0) {
    // Cannot watch it: do not leave an unreaped child behind.
    cordon::KillAndReap(child->pid, child->pidfd, true);
    closeAll();
    for (int fd : listenerFds) if (fd >= 0) close(fd);
    if (uv_is_active(reinterpret_cast<uv_handle_t*>(&child->poll)) || uvErr != UV_EINVAL) {
      uv_close(reinterpret_cast<uv_handle_t*>(&child->poll), OnChildClosed);
    } else {
      close(child->pidfd);
      if (child->mountNamespaceFd >= 0) close(child->mountNamespaceFd);
      delete child;
    }
    Napi::Error::New(env, std::string("uv_poll on pidfd failed: ") + uv_strerror(uvErr)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  state->children[child->id] = child;

  Napi::Object out = Napi::Object::New(env);
  out.Set("id", child->id);
  out.Set("pid", child->pid);
  Napi::Array fds = Napi::Array::New(env, 3);
  for (uint32_t i = 0; i < 3; i++) fds.Set(i, parentEnd[i]);
  out.Set("stdio", fds);
  Napi::Array listenerArray = Napi::Array::New(env);
  for (int i = 0; i < listenerCount; i++) listenerArray.Set(static_cast<uint32_t>(i), listenerFds[i]);
  out.Set("listenerFds", listenerArray);
  return out;
}

// signalChild(id, signal) -> 0 | -errno. pidfd_send_signal cannot hit a recycled pid.
Napi::Value SignalChild(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) return ThrowType(env, "signalChild(id, signal)");
  SpawnState* state = GetSpawnState(env);
  auto it = state->children.find(info[0].As<Napi::Number>().Int32Value());
  if (it == state->children.end()) return Napi::Number::New(env, -ESRCH);
  return Napi::Number::New(env, cordon::SignalChild(it->second->pidfd, info[1].As<Napi::Number>().Int32Value()));
}

// refChild(id, ref): whether a running child keeps the event loop alive.
Napi::Value RefChild(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber()) return ThrowType(env, "refChild(id, ref)");
  SpawnState* state = GetSpawnState(env);
  auto it = state->children.find(info[0].As<Napi::Number>().Int32Value());
  if (it != state->children.end()) {
    uv_handle_t* h = reinterpret_cast<uv_handle_t*>(&it->second->poll);
    if (info[1].ToBoolean()) uv_ref(h); else uv_unref(h);
  }
  return env.Undefined();
}

// releaseStandbys() -> how many standby children were discarded (killed and reaped).
Napi::Value ReleaseStandbys(const Napi::CallbackInfo& info) {
  SpawnState* state = GetSpawnState(info.Env());
  size_t count = state->standbys.size();
  for (StandbySlot& slot : state->standbys) cordon::DiscardStandby(slot.standby.get());
  state->standbys.clear();
  state->prewarmKeys.clear();
  if (state->prewarmIdle) uv_idle_stop(state->prewarmIdle);
  if (state->standbyExpiry) uv_timer_stop(state->standbyExpiry);
  return Napi::Number::New(info.Env(), static_cast<double>(count));
}

// newSandboxKey() -> a key for a new sandbox plan, unique in this environment (and so across
// copies of the TS layer that load this one addon).
Napi::Value NewSandboxKey(const Napi::CallbackInfo& info) {
  SpawnState* state = GetSpawnState(info.Env());
  return Napi::Number::New(info.Env(), ++state->lastSandboxKey);
}

// sharedNetworkNamespace(withUserNamespace) -> { userFd, netFd } (see spawn.h), made once.
Napi::Value SharedNetworkNamespace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBoolean()) return ThrowType(env, "sharedNetworkNamespace(withUserNamespace)");
  int userFd = -1, netFd = -1;
  if (int r = cordon::OpenSharedNetworkNamespace(info[0].As<Napi::Boolean>().Value(), &userFd, &netFd); r < 0) {
    return ThrowErrno(env, -r, "clone");
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("userFd", userFd);
  out.Set("netFd", netFd);
  return out;
}

// lstatStamps(joined) -> Float64Array of {ino, mtime sec, mtime nsec} per NUL-terminated path.
Napi::Value LstatStamps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return ThrowType(env, "lstatStamps(joinedPaths)");
  std::vector<double> stamps;
  cordon::LstatStamps(info[0].As<Napi::String>().Utf8Value(), &stamps);
  Napi::Float64Array out = Napi::Float64Array::New(env, stamps.size());
  if (!stamps.empty()) memcpy(out.Data(), stamps.data(), stamps.size() * sizeof(double));
  return out;
}

// readIfChanged(path, knownVersion) -> null when the file's content still has that version,
// else { version, text }.
Napi::Value ReadIfChanged(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) return ThrowType(env, "readIfChanged(path, knownVersion)");
  std::string text;
  double version = 0;
  int r = cordon::ReadIfChanged(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Number>().DoubleValue(), &version, &text);
  if (r < 0) return ThrowErrno(env, -r, "read");
  if (r == 0) return env.Null();
  Napi::Object out = Napi::Object::New(env);
  out.Set("version", version);
  out.Set("text", Napi::String::New(env, text));
  return out;
}

// environGeneration() -> a number that changes whenever the process environment changed.
Napi::Value EnvironGeneration(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), cordon::EnvironGeneration());
}

// closeFd(fd): release a descriptor the TS layer owns (cgroup.procs, cached rulesets).
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return ThrowType(env, "closeFd(fd)");
  return Napi::Number::New(env, close(info[0].As<Napi::Number>().Int32Value()) == 0 ? 0 : -errno);
}
// -- END spawn region

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("probeKernel", Napi::Function::New(env, ProbeKernel, "probeKernel"));
  // landlock exports:
  exports.Set("landlock", LandlockExports(env));
  // seccomp exports:
  exports.Set("compileSeccompProgram", Napi::Function::New(env, CompileSeccompProgram, "compileSeccompProgram"));
  // spawn exports:
  exports.Set("spawn", Napi::Function::New(env, SpawnChild, "spawn"));
  exports.Set("signalChild", Napi::Function::New(env, SignalChild, "signalChild"));
  exports.Set("refChild", Napi::Function::New(env, RefChild, "refChild"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
  exports.Set("releaseStandbys", Napi::Function::New(env, ReleaseStandbys, "releaseStandbys"));
  exports.Set("newSandboxKey", Napi::Function::New(env, NewSandboxKey, "newSandboxKey"));
  // revalidation of cached plans:
  exports.Set("lstatStamps", Napi::Function::New(env, LstatStamps, "lstatStamps"));
  exports.Set("environGeneration", Napi::Function::New(env, EnvironGeneration, "environGeneration"));
  exports.Set("readIfChanged", Napi::Function::New(env, ReadIfChanged, "readIfChanged"));
  exports.Set("sharedNetworkNamespace", Napi::Function::New(env, SharedNetworkNamespace, "sharedNetworkNamespace"));
  return exports;
}

}  // namespace

NODE_API_MODULE(cordon, Init)
