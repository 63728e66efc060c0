#include "dcs/sync_record.h"

#include <algorithm>

#include "core/json_integer.h"

namespace baton {

SyncRecord SyncRecord::Make(std::string leader, std::vector<std::string> standbys, int acks) {
  std::sort(standbys.begin(), standbys.end());
  standbys.erase(std::unique(standbys.begin(), standbys.end()), standbys.end());
  const int most = static_cast<int>(standbys.size());
  return {std::move(leader), std::move(standbys), std::clamp(acks, 0, most)};
}

SyncRecord SyncRecord::Covering(const SyncRecord& a, const SyncRecord& b) {
  std::vector<std::string> both = a.standbys;
  both.insert(both.end(), b.standbys.begin(), b.standbys.end());
  return Make(a.leader, std::move(both), std::min(a.acks, b.acks));
}

SyncRecord SyncRecord::LedBy(const std::string& new_leader) const {
  std::vector<std::string> others;
  for (const auto& name : standbys) {
    if (name != new_leader) others.push_back(name);
  }
  return Make(new_leader, std::move(others), Lists(new_leader) ? acks - 1 : acks);
}

bool SyncRecord::Lists(const std::string& name) const {
  return std::binary_search(standbys.begin(), standbys.end(), name);
}

size_t SyncRecord::QuorumToPromote() const {
  if (acks <= 0 || standbys.empty()) return 0;
  return standbys.size() - static_cast<size_t>(acks) + 1;
}

nlohmann::json SyncRecord::ToJson() const {
  return {{"leader", leader}, {"standbys", standbys}, {"acks", acks}};
}

std::optional<SyncRecord> SyncRecord::FromJson(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  try {
    const auto acks = JsonInteger<int>(j.at("acks"));
    if (!acks) return std::nullopt;
    SyncRecord r = Make(j.at("leader").get<std::string>(),
                        j.at("standbys").get<std::vector<std::string>>(), *acks);
    if (r.leader.empty()) return std::nullopt;
    return r;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace baton
