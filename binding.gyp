{
  "targets": [
    {
      "target_name": "cordon",
      "conditions": [
        ["OS=='linux'", {
          "sources": [
            "native/binding.cc",
            "native/probe.cc",
            "native/spawn.cc",
            "native/landlock.cc",
            "native/bpf.cc",
            "native/revalidate.cc"
          ]
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
