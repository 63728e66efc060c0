// libFuzzer target: the YAML config parser (core/config.h) on any text, with and without an
// environment override, in both scopes. It must return a Status, never crash or throw.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const auto scope : {baton::ConfigScope::kNode, baton::ConfigScope::kRouter}) {
    (void)baton::ParseConfig(text, "fuzz.yaml", {}, scope);
  }
  // The same text as an environment override of a valid file.
  const std::string valid =
      "cluster: {name: c}\nnode: {name: n}\netcd: {endpoints: ['127.0.0.1:2379']}\n"
      "postgresql: {data_dir: /tmp/x, listen: '127.0.0.1:5432', superuser: {password: a},\n"
      "  replication: {password: b}}\nrestapi: {listen: '127.0.0.1:8008'}\n";
  (void)baton::ParseConfig(valid, "fuzz.yaml", {{"BATON_TIMING_TTL", text}});
  (void)baton::ParseConfig(valid, "fuzz.yaml", {{"BATON_RESTAPI_LISTEN", text}});
  auto config = baton::ParseConfig(valid, "fuzz.yaml", {});
  if (config.ok()) (void)baton::ApplyDynamicConfig(*config, {{"timing.loop_wait", text}});
  return 0;
}
