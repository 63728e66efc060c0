#include "dcs/requests.h"

namespace baton {

namespace {

nlohmann::json ParseObject(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_object() ? j : nlohmann::json();
}

}  // namespace

nlohmann::json SwitchoverRequest::ToJson() const {
  return {{"from", from},
          {"to", to},
          {"at_unix", at_unix},
          {"force", force},
          {"requested_by", requested_by},
          {"handing_over", handing_over},
          {"checkpoint", checkpoint.ToString()}};
}

std::optional<SwitchoverRequest> SwitchoverRequest::FromJson(const std::string& text) {
  const nlohmann::json j = ParseObject(text);
  if (j.is_null()) return std::nullopt;
  try {
    SwitchoverRequest r;
    r.from = j.value("from", "");
    r.to = j.value("to", "");
    r.at_unix = j.value("at_unix", 0.0);
    r.force = j.value("force", false);
    r.requested_by = j.value("requested_by", "");
    r.handing_over = j.value("handing_over", false);
    r.checkpoint = Lsn::Parse(j.value("checkpoint", "0/0")).value_or(Lsn{});
    if (r.from.empty()) return std::nullopt;
    return r;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

nlohmann::json FailoverRequest::ToJson() const {
  return {{"to", to},
          {"allow_data_loss", allow_data_loss},
          {"requested_by", requested_by},
          {"expires_unix", expires_unix}};
}

std::optional<FailoverRequest> FailoverRequest::FromJson(const std::string& text) {
  const nlohmann::json j = ParseObject(text);
  if (j.is_null()) return std::nullopt;
  try {
    FailoverRequest r;
    r.to = j.value("to", "");
    r.allow_data_loss = j.value("allow_data_loss", false);
    r.requested_by = j.value("requested_by", "");
    r.expires_unix = j.value("expires_unix", 0.0);
    if (r.to.empty()) return std::nullopt;
    return r;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

const char* NodeVerbName(NodeVerb verb) {
  switch (verb) {
    case NodeVerb::kRestart:
      return "restart";
    case NodeVerb::kReload:
      return "reload";
    case NodeVerb::kReinit:
      return "reinit";
  }
  return "unknown";
}

std::optional<NodeVerb> ParseNodeVerb(const std::string& name) {
  for (NodeVerb verb : {NodeVerb::kRestart, NodeVerb::kReload, NodeVerb::kReinit}) {
    if (name == NodeVerbName(verb)) return verb;
  }
  return std::nullopt;
}

nlohmann::json NodeAction::ToJson() const {
  return {{"verb", NodeVerbName(verb)},
          {"id", id},
          {"pending_only", pending_only},
          {"requested_by", requested_by}};
}

std::optional<NodeAction> NodeAction::FromJson(const std::string& text) {
  const nlohmann::json j = ParseObject(text);
  if (j.is_null()) return std::nullopt;
  try {
    auto verb = ParseNodeVerb(j.value("verb", ""));
    if (!verb) return std::nullopt;
    NodeAction a;
    a.verb = *verb;
    a.id = j.value("id", "");
    a.pending_only = j.value("pending_only", false);
    a.requested_by = j.value("requested_by", "");
    if (a.id.empty()) return std::nullopt;
    return a;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace baton
