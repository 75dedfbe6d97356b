// Non-Linux builds: an empty addon. src/native.ts reports UnsupportedPlatformError before
// ever loading it; this file only keeps `npm install` from failing on macOS and Windows.
#include <napi.h>

static Napi::Object Init(Napi::Env, Napi::Object exports) { return exports; }

NODE_API_MODULE(cordon, Init)
