// The N-API binding: native/binding/ is the only place that includes napi.h (besides
// binding_unsupported.cc, the empty addon of non-Linux builds). It converts JS values to the
// plain structs of the concern files (convert.h), calls them, and turns their -errno results
// into JS errors. The kernel is called from the plain C++ files, not from here.
#pragma once
#include <napi.h>

#include <string>

namespace cordon::binding {

// Throws a Node-shaped system error (code = errno name, errno = -err, syscall) and returns
// undefined.
Napi::Value ThrowErrno(Napi::Env env, int err, const char* syscallName);

// Throws a TypeError "cordon native: <message>" and returns undefined.
Napi::Value ThrowType(Napi::Env env, const std::string& message);

// spawn(plan, stdio, onExit), newSandboxKey(), releaseStandbys() (binding/spawn.cc).
Napi::Value SpawnJs(const Napi::CallbackInfo& info);
Napi::Value NewSandboxKeyJs(const Napi::CallbackInfo& info);
Napi::Value ReleaseStandbysJs(const Napi::CallbackInfo& info);

}  // namespace cordon::binding
