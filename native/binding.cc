// The N-API binding: the only file that includes napi.h. It converts JS values to the plain
// structs of the concern files (probe.h, spawn.h, landlock.h, bpf.h), calls them, and turns
// their -errno results into JS errors. No kernel logic lives here.
#include <napi.h>

#include <errno.h>
#include <string.h>

#include "bpf.h"
#include "landlock.h"
#include "probe.h"
#include "spawn.h"

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
// -- END spawn region

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("probeKernel", Napi::Function::New(env, ProbeKernel, "probeKernel"));
  // landlock exports:
  exports.Set("landlock", LandlockExports(env));
  // seccomp exports:
  exports.Set("compileSeccompProgram", Napi::Function::New(env, CompileSeccompProgram, "compileSeccompProgram"));
  // spawn exports:
  return exports;
}

}  // namespace

NODE_API_MODULE(cordon, Init)
