// JS values to plain structs (convert.h).
#include "convert.h"

#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>

namespace cordon::binding {
namespace {

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

bool SeccompCheckFrom(const Napi::Value& v, ArgCheck* c) {
  if (!v.IsObject()) return false;
  Napi::Object o = v.As<Napi::Object>();
  uint64_t arg = 0, width = 0;
  if (!SeccompUint(o.Get("arg"), 5, &arg) || !SeccompUint(o.Get("width"), 64, &width)) return false;
  if (width != 32 && width != 64) return false;
  Napi::Value op = o.Get("op");
  if (!op.IsString()) return false;
  const std::string ops = op.As<Napi::String>().Utf8Value();
  if (ops == "eq") {
    c->op = ArgOp::kMaskedEq;
  } else if (ops == "any") {
    c->op = ArgOp::kAnyBits;
  } else {
    return false;
  }
  c->arg = static_cast<uint8_t>(arg);
  c->width = width == 32 ? ArgWidth::kLow32 : ArgWidth::k64;
  return SeccompU64(o.Get("mask"), &c->mask) && SeccompU64(o.Get("value"), &c->value);
}

bool SeccompRuleFrom(const Napi::Value& v, SeccompRule* r) {
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
    ArgClause clause;
    uint64_t ca_action = 0;
    if (!SeccompUint(co.Get("action"), 0xffffffffu, &ca_action)) return false;
    clause.action = static_cast<uint32_t>(ca_action);
    Napi::Value checks = co.Get("checks");
    if (!checks.IsArray()) return false;
    Napi::Array ka = checks.As<Napi::Array>();
    for (uint32_t j = 0; j < ka.Length(); ++j) {
      ArgCheck check;
      if (!SeccompCheckFrom(ka.Get(j), &check)) return false;
      clause.checks.push_back(check);
    }
    r->clauses.push_back(std::move(clause));
  }
  return true;
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

// One op of plan.mounts (NativeMountOp).
bool ReadMountOp(Napi::Value v, MountOp* op, std::string* error) {
  if (!v.IsObject()) { *error = "invalid plan.mounts"; return false; }
  Napi::Object m = v.As<Napi::Object>();
  int64_t kind = 0, flags = 0;
  if (!GetInt(m, "kind", &kind) || kind < MountOp::kBindReadOnly ||
      kind > MountOp::kAllowDevices || !m.Get("target").IsString()) {
    *error = "invalid plan.mounts";
    return false;
  }
  op->kind = static_cast<MountOp::Kind>(kind);
  op->target = m.Get("target").As<Napi::String>().Utf8Value();
  if (m.Get("source").IsString()) op->source = m.Get("source").As<Napi::String>().Utf8Value();
  if (GetInt(m, "preservedFlags", &flags)) op->preservedFlags = static_cast<unsigned long>(flags);
  op->optional = m.Get("optional").IsBoolean() && m.Get("optional").As<Napi::Boolean>().Value();
  if (m.Get("data").IsString()) op->data = m.Get("data").As<Napi::String>().Utf8Value();
  int64_t slot = -1, mode = 0;
  if (GetInt(m, "slot", &slot)) op->slot = static_cast<int>(slot);
  if (GetInt(m, "mode", &mode)) op->mode = static_cast<unsigned>(mode);
  int64_t access = 0;
  if (GetInt(m, "landlockAccess", &access)) op->landlockAccess = static_cast<uint64_t>(access);
  if ((op->kind == MountOp::kDetach || op->kind == MountOp::kAttach) &&
      (op->slot < 0 || op->slot >= kMountSlots)) {
    *error = "invalid plan.mounts (slot)";
    return false;
  }
  return true;
}

}  // namespace

bool ReadLandlockSpec(const Napi::CallbackInfo& info, LandlockRulesetSpec* spec, std::string* error) {
  auto fail = [error](std::string message) {
    *error = "createRuleset(spec): " + message;
    return false;
  };
  if (info.Length() < 1 || !info[0].IsObject()) return fail("spec must be an object");
  Napi::Object o = info[0].As<Napi::Object>();
  if (!LandlockGetMask(o, "handledAccessFs", &spec->handledAccessFs) ||
      !LandlockGetMask(o, "handledAccessNet", &spec->handledAccessNet) ||
      !LandlockGetMask(o, "scoped", &spec->scoped)) {
    return fail("handledAccessFs, handledAccessNet and scoped must be non-negative integers");
  }
  Napi::Value pr = o.Get("pathRules");
  if (!pr.IsArray()) return fail("pathRules must be an array");
  Napi::Array paths = pr.As<Napi::Array>();
  for (uint32_t i = 0; i < paths.Length(); ++i) {
    Napi::Value e = paths.Get(i);
    if (!e.IsObject()) return fail("pathRules[" + std::to_string(i) + "] must be an object");
    Napi::Object r = e.As<Napi::Object>();
    Napi::Value p = r.Get("path");
    LandlockPathRule rule{"", 0};
    if (!p.IsString() || !LandlockGetMask(r, "access", &rule.allowedAccess)) {
      return fail("pathRules[" + std::to_string(i) + "] must be {path: string, access: integer}");
    }
    rule.path = p.As<Napi::String>().Utf8Value();
    if (rule.path.empty() || rule.path[0] != '/' || rule.path.find('\0') != std::string::npos) {
      return fail("pathRules[" + std::to_string(i) + "].path must be absolute");
    }
    spec->pathRules.push_back(std::move(rule));
  }
  Napi::Value nr = o.Get("netRules");
  if (!nr.IsUndefined()) {
    if (!nr.IsArray()) return fail("netRules must be an array");
    Napi::Array nets = nr.As<Napi::Array>();
    for (uint32_t i = 0; i < nets.Length(); ++i) {
      Napi::Value e = nets.Get(i);
      LandlockNetRule rule{0, 0};
      if (!e.IsObject() || !LandlockGetMask(e.As<Napi::Object>(), "port", &rule.port) ||
          !LandlockGetMask(e.As<Napi::Object>(), "access", &rule.allowedAccess) || rule.port > 65535) {
        return fail("netRules[" + std::to_string(i) + "] must be {port: 0..65535, access: integer}");
      }
      spec->netRules.push_back(rule);
    }
  }
  return true;
}

bool ReadSeccompSpec(const Napi::CallbackInfo& info, SeccompSpec* spec, std::string* error) {
  // One message for every shape error: the spec is data our own TS layer builds.
  auto fail = [error]() {
    *error =
        "compileSeccompProgram(spec): spec must be { arch: 'x86_64' | 'aarch64', defaultAction, "
        "rules: [{ nr, action, reason, clauses: [{ action, checks: [{ arg, width: 32 | 64, "
        "op: 'eq' | 'any', mask: bigint, value: bigint }] }] }] }";
    return false;
  };
  if (info.Length() != 1 || !info[0].IsObject()) return fail();
  Napi::Object o = info[0].As<Napi::Object>();
  Napi::Value arch = o.Get("arch");
  if (!arch.IsString()) return fail();
  const std::string archName = arch.As<Napi::String>().Utf8Value();
  if (archName == "x86_64") {
    spec->arch = SeccompArch::kX86_64;
  } else if (archName == "aarch64") {
    spec->arch = SeccompArch::kAarch64;
  } else {
    return fail();
  }
  uint64_t defaultAction = 0;
  if (!SeccompUint(o.Get("defaultAction"), 0xffffffffu, &defaultAction)) return fail();
  spec->defaultAction = static_cast<uint32_t>(defaultAction);
  Napi::Value rules = o.Get("rules");
  if (!rules.IsArray()) return fail();
  Napi::Array ra = rules.As<Napi::Array>();
  for (uint32_t i = 0; i < ra.Length(); ++i) {
    SeccompRule rule;
    if (!SeccompRuleFrom(ra.Get(i), &rule)) return fail();
    spec->rules.push_back(std::move(rule));
  }
  return true;
}

// Reads the plan object built by src/spawn.ts. Shape errors are programming errors of our
// own TS layer, reported uniformly. The sandbox part is read once per sandboxKey (standby_pool.h).
bool ReadSandbox(Napi::Object o, SandboxPlan* plan, std::string* error) {
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
    for (uint32_t i = 0; i < list.Length() && i < kMaxListeners; i++) {
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
      MountOp op;
      if (!ReadMountOp(a.Get(i), &op, error)) return false;
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

bool ReadCommand(Napi::Object o, CommandPlan* command, std::string* error) {
  if (!o.Get("file").IsString()) { *error = "invalid plan.file"; return false; }
  command->file = o.Get("file").As<Napi::String>().Utf8Value();
  if (!GetStrings(o.Get("argv"), &command->argv)) { *error = "invalid plan.argv"; return false; }
  Napi::Value envp = o.Get("envp");
  if (!envp.IsString()) { *error = "invalid plan.envp"; return false; }
  std::string block = envp.As<Napi::String>().Utf8Value();
  for (size_t start = 0, end; start < block.size(); start = end + 1) {
    end = block.find('\0', start);
    if (end == std::string::npos) { *error = "invalid plan.envp"; return false; }  // entries are NUL-terminated
    command->envp.emplace_back(block, start, end - start);
  }
  if (o.Get("cwd").IsString()) command->cwd = o.Get("cwd").As<Napi::String>().Utf8Value();
  Napi::Value cgroupFds = o.Get("cgroupProcsFds");
  if (cgroupFds.IsArray()) {
    Napi::Array a = cgroupFds.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      if (!a.Get(i).IsNumber()) { *error = "invalid plan.cgroupProcsFds"; return false; }
      command->cgroupProcsFds.push_back(a.Get(i).As<Napi::Number>().Int32Value());
    }
  }
  Napi::Value rl = o.Get("rlimits");
  if (rl.IsArray()) {
    Napi::Array a = rl.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Value e = a.Get(i);
      if (!e.IsArray()) { *error = "invalid plan.rlimits"; return false; }
      Napi::Array t = e.As<Napi::Array>();
      // Infinity (RLIM_INFINITY) arrives as a non-finite double.
      auto limit = [](Napi::Value v) -> rlim_t {
        double d = v.As<Napi::Number>().DoubleValue();
        return d >= 1.8e19 || d != d ? RLIM_INFINITY : static_cast<rlim_t>(d);
      };
      if (!t.Get(0u).IsNumber() || !t.Get(1u).IsNumber() || !t.Get(2u).IsNumber()) { *error = "invalid plan.rlimits"; return false; }
      command->rlimits.push_back({t.Get(0u).As<Napi::Number>().Int32Value(), limit(t.Get(1u)), limit(t.Get(2u))});
    }
  }
  return true;
}

}  // namespace cordon::binding
