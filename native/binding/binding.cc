// The addon's entry point (Init: every function it exports, as src/native-types.ts declares
// them), the throw helpers, the environment's state, and the thin wrappers of probe.h,
// landlock.h, bpf.h, netns.h and revalidate.h.
#include "binding.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "../bpf.h"
#include "../errno_name.h"
#include "../landlock.h"
#include "../netns.h"
#include "../probe.h"
#include "../revalidate.h"
#include "children.h"
#include "convert.h"
#include "state.h"

namespace cordon::binding {

Napi::Value ThrowErrno(Napi::Env env, int err, const char* syscallName) {
  Napi::Error e = Napi::Error::New(env, std::string(syscallName) + " failed: " + strerror(err));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("code", Napi::String::New(env, ErrnoName(err)));
  e.Set("syscall", Napi::String::New(env, syscallName));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value ThrowType(Napi::Env env, const std::string& message) {
  Napi::TypeError::New(env, "cordon native: " + message).ThrowAsJavaScriptException();
  return env.Undefined();
}

AddonState* GetState(Napi::Env env) {
  AddonState* state = env.GetInstanceData<AddonState>();
  if (state == nullptr) {
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    state = new AddonState(env, loop);
    env.SetInstanceData(state);
    napi_add_env_cleanup_hook(env, OnEnvTeardown, state);
  }
  return state;
}

namespace {

// probeKernel() -> what this kernel lets the calling user enforce (probe.h).
Napi::Value ProbeKernel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KernelProbe p = cordon::ProbeKernel();
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

// createRuleset({handledAccessFs, handledAccessNet, scoped, pathRules: [{path, access}],
// netRules: [{port, access}]}) -> fd (O_CLOEXEC). Throws a Node-shaped error naming the rule.
Napi::Value LandlockCreateRuleset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LandlockRulesetSpec spec;
  std::string error;
  if (!ReadLandlockSpec(info, &spec, &error)) return ThrowType(env, error);
  LandlockBuildError where;
  int fd = BuildLandlockRuleset(spec, &where);
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
    e.Set("code", Napi::String::New(env, ErrnoName(err)));
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
  int rc = CloseLandlockRuleset(fd);
  if (rc < 0) return ThrowErrno(env, -rc, "close");
  return env.Undefined();
}

// abiVersion() -> highest Landlock ABI of this kernel, or -errno.
Napi::Value LandlockAbi(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), LandlockAbiVersion());
}

// mountFlags(path) -> the per-mount flags a read-only bind remount of path must preserve.
Napi::Value LandlockMountFlags(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return ThrowType(env, "mountFlags(path): path must be a string");
  long flags = MountPreservedFlags(info[0].As<Napi::String>().Utf8Value());
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

// compileSeccompProgram(spec) -> Buffer of struct sock_filter. src/seccomp builds the spec (rule
// data); convert.cc only checks its shape and converts it. Shape errors throw TypeError, compile
// errors an Error with code EINVAL/E2BIG and the compiler's reason.
Napi::Value CompileSeccompProgram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SeccompSpec spec;
  std::string error;
  if (!ReadSeccompSpec(info, &spec, &error)) return ThrowType(env, error);
  std::vector<sock_filter> program;
  std::string reason;
  if (int rc = CompileSeccomp(spec, &program, &reason); rc != 0) {
    Napi::Error e = Napi::Error::New(env, "cordon native: seccomp program: " + reason);
    e.Set("errno", Napi::Number::New(env, rc));
    e.Set("code", Napi::String::New(env, ErrnoName(-rc)));
    e.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(program.data()),
                                     program.size() * sizeof(sock_filter));
}

// sharedNetworkNamespace(withUserNamespace) -> { userFd, netFd } (see netns.h), made once.
Napi::Value SharedNetworkNamespace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBoolean()) return ThrowType(env, "sharedNetworkNamespace(withUserNamespace)");
  int userFd = -1, netFd = -1;
  if (int r = OpenSharedNetworkNamespace(info[0].As<Napi::Boolean>().Value(), &userFd, &netFd); r < 0) {
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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto add = [&](const char* name, Napi::Function::Callback fn) {
    exports.Set(name, Napi::Function::New(env, fn, name));
  };
  add("probeKernel", ProbeKernel);
  exports.Set("landlock", LandlockExports(env));
  add("compileSeccompProgram", CompileSeccompProgram);
  add("spawn", SpawnJs);
  add("signalChild", SignalChildJs);
  add("refChild", RefChildJs);
  add("closeFd", CloseFd);
  add("releaseStandbys", ReleaseStandbysJs);
  add("newSandboxKey", NewSandboxKeyJs);
  add("lstatStamps", LstatStamps);
  add("environGeneration", EnvironGeneration);
  add("readIfChanged", ReadIfChanged);
  add("sharedNetworkNamespace", SharedNetworkNamespace);
  return exports;
}

}  // namespace
}  // namespace cordon::binding

namespace {
Napi::Object Init(Napi::Env env, Napi::Object exports) { return cordon::binding::Init(env, exports); }
}  // namespace

NODE_API_MODULE(cordon, Init)
