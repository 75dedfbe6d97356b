// JS values to the plain structs of the concern files. Each Read* returns false with *error set
// to the message the caller throws as a TypeError (ThrowType); the message names the function
// and the bad field as the caller's JS wrote it.
#pragma once
#include <napi.h>

#include <string>

#include "../bpf.h"
#include "../landlock.h"
#include "../plan.h"

namespace cordon::binding {

// createRuleset(spec): {handledAccessFs, handledAccessNet?, scoped?, pathRules: [{path, access}],
// netRules?: [{port, access}]}.
bool ReadLandlockSpec(const Napi::CallbackInfo& info, LandlockRulesetSpec* spec, std::string* error);

// compileSeccompProgram(spec): src/seccomp's rule data (NativeSeccompSpec).
bool ReadSeccompSpec(const Napi::CallbackInfo& info, SeccompSpec* spec, std::string* error);

// The sandbox part of spawn's plan (NativeSpawnPlan), with the caller's uid/gid. The plan's
// landlockRulesetFd is still the caller's fd.
bool ReadSandbox(Napi::Object o, SandboxPlan* plan, std::string* error);

// The command part of spawn's plan (stdio and the listener handoff are the caller's).
bool ReadCommand(Napi::Object o, CommandPlan* command, std::string* error);

}  // namespace cordon::binding
