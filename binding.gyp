{
  "targets": [
    {
      "target_name": "cordon",
      "conditions": [
        ["OS=='linux'", {
          "sources": [
            "native/binding/binding.cc",
            "native/binding/convert.cc",
            "native/binding/children.cc",
            "native/binding/standby_pool.cc",
            "native/binding/spawn.cc",
            "native/probe.cc",
            "native/spawn.cc",
            "native/child.cc",
            "native/clone.cc",
            "native/standby.cc",
            "native/mounts.cc",
            "native/capabilities.cc",
            "native/id_maps.cc",
            "native/netns.cc",
            "native/fd_message.cc",
            "native/process_control.cc",
            "native/plan.cc",
            "native/spawn_fds.cc",
            "native/errno_name.cc",
            "native/landlock.cc",
            "native/bpf.cc",
            "native/revalidate.cc",
            "native/glibc_compat.cc"
          ],
          # Portable binaries, from source as from scripts/prebuilds.mjs: libstdc++ is linked
          # statically (no GLIBCXX_ version needed from the target's libstdc++.so.6) where the
          # compiler has libstdc++.a (static-libstdcxx.cjs says why it may not) and
          # --gc-sections drops the parts of it we do not use (halves the size, and with them
          # references such as arc4random@GLIBC_2.36 from std::random_device).
          # glibc_compat.cc keeps the GLIBC_ versions at 2.28 or below.
          # libgcc stays shared on purpose: libgcc_s.so.1 is on every glibc system (glibc itself
          # loads it for pthread_cancel) and needs only GCC_4.2.0, while the static unwinder of
          # GCC 12 (libgcc_eh.a) calls _dl_find_object@GLIBC_2.35 with no fallback, and two
          # unwinders in one process are what GCC's manual warns against for shared libraries.
          # The small helper part of libgcc (libgcc.a) is linked statically by g++ anyway.
          "ldflags": ["<!@(node native/static-libstdcxx.cjs)", "-Wl,--gc-sections"]
        }, {
          "sources": ["native/binding_unsupported.cc"]
        }]
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api"],
      "cflags_cc": [
        "-std=c++17",
        "-Wall",
        "-Wextra",
        "-fvisibility=hidden",
        "-fstack-protector-strong"
      ],
      "ldflags": ["-Wl,--exclude-libs,ALL", "-Wl,-z,now"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
