#include "api/admin_verbs.h"

#include <fmt/format.h>

#include "core/wall_time.h"
#include "ha/cluster_admin.h"

namespace baton {

namespace {

AdminReply Refusal(const Status& status) {
  int code = 500;
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      code = 400;
      break;
    case StatusCode::kFailedPrecondition:
    case StatusCode::kAborted:
      code = 409;
      break;
    case StatusCode::kUnavailable:
    case StatusCode::kTimeout:
      code = 503;
      break;
    default:
      break;
  }
  return {code, {{"error", status.message()}}};
}

AdminReply Accepted(nlohmann::json body) {
  return {202, std::move(body)};
}

using Type = AdminField::Type;

// A string field of the body ("" when absent); its type was checked (CheckAdminFields).
std::string Text(const nlohmann::json& body, const char* key) {
  return body.contains(key) ? body.at(key).get<std::string>() : "";
}

bool Flag(const nlohmann::json& body, const char* key) {
  return body.contains(key) && body.at(key).get<bool>();
}

}  // namespace

void AddAdminVerbs(RestApi& api, Dcs& dcs, const Config& config, const Clock& clock) {
  const std::string cluster = config.cluster_name;
  const std::string node = config.node_name;
  const std::string by = "REST API on " + node;
  auto admin = [&dcs, &clock, cluster] { return ClusterAdmin(dcs, cluster, clock); };

  api.AddAdminVerb("POST", "/switchover",
                   {{{"to", Type::kString}, {"at", Type::kString}, {"force", Type::kBool}}},
                   [=](const nlohmann::json& body) {
                     double at_unix = 0;
                     if (const std::string at = Text(body, "at"); !at.empty()) {
                       auto when = ParseWhen(at);
                       if (!when.ok()) return Refusal(when.status().WithContext("at"));
                       at_unix = *when;
                     }
                     auto plan =
                         admin().Switchover(Text(body, "to"), at_unix, Flag(body, "force"), by);
                     if (!plan.ok()) return Refusal(plan.status());
                     nlohmann::json reply = plan->request.ToJson();
                     reply["target"] = plan->target;
                     return Accepted(reply);
                   });
  api.AddAdminVerb("DELETE", "/switchover", {{}}, [=](const nlohmann::json&) {
    if (Status s = admin().CancelSwitchover(); !s.ok()) return Refusal(s);
    return AdminReply{200, {{"cancelled", true}}};
  });
  api.AddAdminVerb("POST", "/failover", {{{"to", Type::kString}, {"allow_data_loss", Type::kBool}}},
                   [=](const nlohmann::json& body) {
                     const std::string to = Text(body, "to");
                     if (to.empty())
                       return Refusal(InvalidArgument("'to' names the node to promote"));
                     constexpr double kFailoverTimeoutSeconds =
                         60;  // as the CLI's default --timeout
                     auto plan = admin().Failover(to, Flag(body, "allow_data_loss"),
                                                  kFailoverTimeoutSeconds, by);
                     if (!plan.ok()) return Refusal(plan.status());
                     nlohmann::json reply = plan->request.ToJson();
                     reply["lost_bytes"] = plan->lost_bytes;
                     return Accepted(reply);
                   });
  for (bool pause : {true, false}) {
    api.AddAdminVerb("POST", pause ? "/pause" : "/resume", {{}}, [=](const nlohmann::json&) {
      auto changed = admin().SetPaused(pause, by);
      if (!changed.ok()) return Refusal(changed.status());
      return AdminReply{200, {{"paused", pause}, {"changed", *changed}}};
    });
  }
  for (NodeVerb verb : {NodeVerb::kRestart, NodeVerb::kReload, NodeVerb::kReinit}) {
    api.AddAdminVerb("POST", std::string("/") + NodeVerbName(verb), {{{"pending", Type::kBool}}},
                     [=](const nlohmann::json& body) {
                       auto action = admin().RequestAction(node, verb, Flag(body, "pending"), by);
                       if (!action.ok()) return Refusal(action.status());
                       nlohmann::json reply = action->ToJson();
                       reply["node"] = node;
                       return Accepted(reply);
                     });
  }
  api.AddAdminVerb("GET", "/config", {{}}, [=](const nlohmann::json&) {
    auto view = admin().Load();
    if (!view.ok()) return Refusal(view.status());
    return AdminReply{200, view->config};
  });
  // Any setting's key: ClusterAdmin::SetConfig refuses the unknown ones and bad values.
  api.AddAdminVerb("PATCH", "/config", std::nullopt, [=](const nlohmann::json& body) {
    DynamicSettings changes;
    for (const auto& [key, value] : body.items()) {
      changes[key] = value.is_string() ? value.get<std::string>() : value.dump();
    }
    if (changes.empty()) return Refusal(InvalidArgument("give the settings to change"));
    auto stored = admin().SetConfig(changes);
    if (!stored.ok()) return Refusal(stored.status());
    nlohmann::json reply = nlohmann::json::object();
    for (const auto& [key, value] : *stored) reply[key] = value;
    return AdminReply{200, reply};
  });
  api.AddAdminVerb("POST", "/remove", {{{"node", Type::kString}}}, [=](const nlohmann::json& body) {
    const std::string name = Text(body, "node");
    if (name.empty()) return Refusal(InvalidArgument("'node' names the node to forget"));
    if (Status s = admin().Remove(name); !s.ok()) return Refusal(s);
    return AdminReply{200, {{"removed", name}}};
  });
}

}  // namespace baton
