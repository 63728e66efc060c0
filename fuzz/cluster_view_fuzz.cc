// libFuzzer target: decoding what etcd holds (dcs/cluster_store.h). The input is a list of
// key/value pairs under the cluster's prefix (member records, leader, /sync, /config, history,
// requests...), stored in the in-memory Dcs and read back by ClusterStore::Load(), as the
// agent reads etcd's range responses. Records written by a buggy or hostile writer must be
// refused or ignored, never crash the reader.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "dcs/cluster_store.h"
#include "dcs/memory_dcs.h"

namespace {

// Takes bytes up to the next NUL (or the end) from `input`.
std::string_view Field(std::string_view& input) {
  const size_t nul = input.find('\0');
  const std::string_view field = input.substr(0, nul);
  input.remove_prefix(nul == std::string_view::npos ? input.size() : nul + 1);
  return field;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  baton::SimulatedClock clock;
  baton::MemoryDcs dcs(clock);
  const std::string prefix = baton::ClusterStore::Prefix("fuzz");
  std::string_view input(reinterpret_cast<const char*>(data), size);
  while (!input.empty()) {
    const std::string key = prefix + std::string(Field(input));
    const std::string value(Field(input));
    (void)dcs.Put(key, value, 0);
  }
  baton::ClusterStore store(dcs, "fuzz", "node1", 10, clock);
  auto view = store.Load();
  if (view.ok()) {
    (void)view->Settings();
    for (const auto& [name, member] : view->members) (void)view->LagOf(member);
    (void)view->LeaderMember();
    (void)view->ListsAsStandby("node1");
  }
  return 0;
}
