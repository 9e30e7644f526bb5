// Module entry: the HttpCapture class, the feature probe and the record slot size.
#include <napi.h>

#include <linux/types.h>

#include "event.h"
#include "features.h"
#include "http_capture.h"
#include "libbpf_log.h"

namespace beyla {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InstallLibbpfPrintHook();
  exports.Set("HttpCapture", HttpCapture::Define(env));
  exports.Set("probeFeatures", Napi::Function::New(env, ProbeFeatures, "probeFeatures"));
  exports.Set("maxRecordBytes", Napi::Number::New(env, sizeof(beyla_http_event)));
  return exports;
}

}  // namespace beyla

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return beyla::Init(env, exports);
}

NODE_API_MODULE(beyla_native, InitModule)
