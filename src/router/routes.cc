#include "router/routes.h"

#include <fmt/format.h>

namespace baton {

namespace {

std::optional<Backend> BackendOf(const MemberInfo& member) {
  auto address = HostPort::Parse(member.pg_address);
  if (!address.ok()) return std::nullopt;
  return Backend{member.name, *address};
}

}  // namespace

std::string Routes::Describe() const {
  std::string out = writer ? fmt::format("writer {} ({})", writer->name, writer->address.ToString())
                           : std::string("no writer");
  out += ", readers";
  if (readers.empty()) out += " none";
  for (size_t i = 0; i < readers.size(); ++i) out += (i == 0 ? " " : ", ") + readers[i].name;
  return out;
}

Routes RoutesFor(const ClusterView& view, uint64_t max_lag_bytes) {
  Routes routes;
  const MemberInfo* leader = view.LeaderMember();
  if (leader != nullptr && leader->Runs(MemberRole::kPrimary)) {
    routes.writer = BackendOf(*leader);
  }
  for (const auto& [name, member] : view.members) {
    if (!member.Runs(MemberRole::kReplica) || !member.streaming) continue;
    const auto lag = view.LagOf(member);
    if (!lag.bytes || *lag.bytes > max_lag_bytes) continue;
    if (auto backend = BackendOf(member)) routes.readers.push_back(*backend);
  }
  if (routes.readers.empty() && routes.writer) routes.readers.push_back(*routes.writer);
  return routes;
}

}  // namespace baton
