// LocalNetwork: a private IPv4 network on this machine in which each member of a LocalCluster
// runs in a network namespace of its own: one Linux bridge, one veth pair per namespace (its end
// inside is `eth0`), and a /24 chosen at run time that overlaps no interface or route here. The
// host keeps the first address on the bridge, so this process (the test's clients) reaches every
// namespace; the namespaces have no route but the /24, so nothing they send leaves this machine.
//
// Every name carries the prefix "btc" and an id that starts with the creating process's pid:
// namespaces `btc-<id>-<label>`, bridge `btc<id>br`, host-side veths `btc<id>v<k>`. Destroy()
// removes them; RemoveLeftovers() removes those of runs whose creator is gone (a crashed run),
// killing whatever still runs inside. Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN).
//
// A LocalNetwork is a plain value (stored in the cluster's manifest); not thread-safe to modify.
// TcpConnects and RunInNamespace are thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/process.h"
#include "core/status.h"

namespace baton {

// A namespace to create: its label ("etcd", "node1") and how many addresses it gets.
struct NamespaceSpec {
  std::string label;
  int addresses = 1;
};

struct LocalNamespace {
  std::string label;
  std::string name;                    // the netns name, `btc-<id>-<label>`
  std::string host_veth;               // the veth end on the bridge
  std::vector<std::string> addresses;  // IPv4 addresses on its eth0
};

struct LocalNetwork {
  std::string id;
  std::string bridge;
  std::string host_address;  // this machine's address on the bridge (x.y.z.1)
  int prefix_length = 24;
  std::vector<LocalNamespace> namespaces;

  // Creates the bridge and one namespace per spec, addresses handed out in order from .10.
  // Removes leftovers of crashed runs first. On failure, nothing it created is left behind.
  static Result<LocalNetwork> Create(const std::vector<NamespaceSpec>& specs);
  // Kills what still runs in the namespaces, deletes them and the bridge. Safe to call twice.
  Status Destroy() const;
  // Removes the namespaces and links of every run whose creating process is gone.
  static void RemoveLeftovers();

  // The namespace labelled `label`, or nullptr.
  const LocalNamespace* Find(const std::string& label) const;
  // argv that runs `argv` inside namespace `netns` (`ip netns exec`), as `run_as` when given
  // (setpriv drops to that user; the pid stays the same, every step execs).
  std::vector<std::string> InNamespace(const std::string& netns,
                                       const std::vector<std::string>& argv,
                                       const std::optional<RunAs>& run_as) const;

  nlohmann::json ToJson() const;
  static Result<LocalNetwork> FromJson(const nlohmann::json& j);
};

// Runs argv (argv[0] a path) as root inside network namespace `netns`.
Result<CommandResult> RunInNamespace(const std::string& netns, const std::vector<std::string>& argv,
                                     Duration timeout);
// True when a TCP connection from inside `netns` ("" = this process's namespace) to host:port is
// established within `timeout`: how a fault proves that a partition really cuts a path.
bool TcpConnects(const std::string& netns, const std::string& host, int port, Duration timeout);
// The path of a system tool (ip, iptables, setpriv) in the usual directories, NotFound otherwise.
Result<std::string> SystemTool(const std::string& name);

}  // namespace baton
