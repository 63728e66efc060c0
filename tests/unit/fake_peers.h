// FakePeers: the Peers port for simulated clusters. A member answers unless a test named it in
// `unreachable` (silent) or in `gone` (both its ports refused); failsafe questions go to that
// member's Agent when the test registered it in `agents`. Every question is recorded in `asked`.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "ha/agent.h"
#include "ha/peers.h"

namespace baton {

class FakePeers final : public Peers {
 public:
  std::set<std::string> unreachable;
  std::set<std::string> gone;
  std::vector<std::string> asked;

  NodeReach Reach(const MemberInfo& member) override {
    asked.push_back(member.name);
    if (gone.count(member.name)) return NodeReach::kProcessesGone;
    return unreachable.count(member.name) ? NodeReach::kSilent : NodeReach::kAnswers;
  }
  // Answers as `agents[name]` would (an agent of the same simulation), or no when absent.
  std::map<std::string, Agent*> agents;
  std::string watched;  // the member WatchNode last named ("" = nobody)
  void WatchNode(const MemberInfo* member, std::function<void()>) override {
    watched = member != nullptr ? member->name : "";
  }
  bool ConfirmFailsafe(const MemberInfo& member, const std::string& leader) override {
    asked.push_back("failsafe:" + member.name);
    auto agent = agents.find(member.name);
    if (agent == agents.end() || unreachable.count(member.name) || gone.count(member.name)) {
      return false;
    }
    return agent->second->ConfirmFailsafe(leader).accepted;
  }
};

}  // namespace baton
