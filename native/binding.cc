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
// -- END landlock region

// ---------------------------------------------------------------------------------------------
// seccomp (bpf.h) -- BEGIN seccomp region (owned by the seccomp work)
// -- END seccomp region

// ---------------------------------------------------------------------------------------------
// spawn (spawn.h) -- BEGIN spawn region
// -- END spawn region

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("probeKernel", Napi::Function::New(env, ProbeKernel, "probeKernel"));
  // landlock exports:
  // seccomp exports:
  // spawn exports:
  return exports;
}

}  // namespace

NODE_API_MODULE(cordon, Init)
