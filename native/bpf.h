// seccomp-BPF program compiler. Plain C++, no N-API.
#pragma once
namespace cordon {}
