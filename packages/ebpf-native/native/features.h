// What this kernel offers for our programs, checked without loading them.
#pragma once
#include <napi.h>

namespace beyla {
Napi::Value ProbeFeatures(const Napi::CallbackInfo& info);
}
