#include "lab/local_network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "core/json_integer.h"
#include "core/tcp_probe.h"

namespace baton {

namespace fs = std::filesystem;

namespace {

constexpr const char* kPrefix = "btc";
constexpr const char* kNetnsDir = "/run/netns";
constexpr auto kToolTimeout = std::chrono::seconds(20);
constexpr int kFirstNamespaceAddress = 10;

struct Ipv4Net {
  uint32_t address;  // host order
  uint32_t mask;
};

uint32_t MaskOf(int prefix_length) {
  return prefix_length == 0 ? 0 : ~uint32_t{0} << (32 - prefix_length);
}

std::string Dotted(uint32_t address) {
  return fmt::format("{}.{}.{}.{}", address >> 24, (address >> 16) & 0xff, (address >> 8) & 0xff,
                     address & 0xff);
}

// Every IPv4 network this machine has an address on or a route to (the default route aside).
std::vector<Ipv4Net> NetworksInUse() {
  std::vector<Ipv4Net> nets;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) == 0) {
    for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
      if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET || i->ifa_netmask == nullptr)
        continue;
      const auto* addr = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      const auto* mask = reinterpret_cast<const sockaddr_in*>(i->ifa_netmask);
      nets.push_back({ntohl(addr->sin_addr.s_addr), ntohl(mask->sin_addr.s_addr)});
    }
    freeifaddrs(list);
  }
  // /proc/net/route: Iface Destination Gateway Flags RefCnt Use Metric Mask ... (hex, network
  // byte order as the machine stores it).
  std::ifstream routes("/proc/net/route");
  std::string line;
  std::getline(routes, line);  // the header
  while (std::getline(routes, line)) {
    std::istringstream fields(line);
    std::string iface, destination, gateway, flags, refcnt, use, metric, mask;
    if (!(fields >> iface >> destination >> gateway >> flags >> refcnt >> use >> metric >> mask))
      continue;
    const uint32_t m = ntohl(static_cast<uint32_t>(std::stoul(mask, nullptr, 16)));
    if (m == 0) continue;  // the default route overlaps everything by definition
    nets.push_back({ntohl(static_cast<uint32_t>(std::stoul(destination, nullptr, 16))), m});
  }
  return nets;
}

// The interfaces of this namespace with an address in the /24 at `net`.
std::vector<std::string> InterfacesIn(uint32_t net) {
  std::vector<std::string> names;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return names;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    const auto* addr = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
    if ((ntohl(addr->sin_addr.s_addr) & MaskOf(24)) == net) names.push_back(i->ifa_name);
  }
  freeifaddrs(list);
  return names;
}

bool Overlaps(const Ipv4Net& a, const Ipv4Net& b) {
  const uint32_t common = a.mask & b.mask;
  return (a.address & common) == (b.address & common);
}

// A random 10.X.Y.0/24 that no interface or route here overlaps.
Result<uint32_t> FreeSubnet() {
  const std::vector<Ipv4Net> used = NetworksInUse();
  std::random_device seed;
  std::mt19937 rng(seed());
  std::uniform_int_distribution<uint32_t> second(100, 250), third(0, 255);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const uint32_t net = (10u << 24) | (second(rng) << 16) | (third(rng) << 8);
    bool free = true;
    for (const auto& u : used) free = free && !Overlaps({net, MaskOf(24)}, u);
    if (free) return net;
  }
  return Internal("no free 10.x.y.0/24 network for the namespaces");
}

std::string NewId() {
  static std::atomic<int> counter{0};
  return fmt::format("{}{}", getpid(), static_cast<char>('a' + (counter++ % 26)));
}

// The id in a name of ours (`btc-<id>-label`, `btc<id>br`, `btc<id>v3`), "" if not ours.
std::string IdOf(const std::string& name) {
  if (name.rfind(kPrefix, 0) != 0) return "";
  size_t i = std::string(kPrefix).size();
  if (i < name.size() && name[i] == '-') ++i;
  const size_t digits = i;
  while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i]))) ++i;
  if (i == digits || i >= name.size() || !std::islower(static_cast<unsigned char>(name[i])))
    return "";
  return name.substr(digits, i + 1 - digits);
}

pid_t OwnerOf(const std::string& id) {
  return static_cast<pid_t>(std::stol(id.substr(0, id.size() - 1)));
}

Status Ip(const std::vector<std::string>& args) {
  auto ip = SystemTool("ip");
  if (!ip.ok()) return ip.status();
  std::vector<std::string> argv = {*ip};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = RunCommand(argv, {}, kToolTimeout);
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    std::string command;
    for (const auto& a : argv) command += (command.empty() ? "" : " ") + a;
    return Internal(fmt::format("{}: {}", command, result->output));
  }
  return Status::Ok();
}

std::vector<pid_t> PidsIn(const std::string& netns) {
  std::vector<pid_t> pids;
  auto ip = SystemTool("ip");
  if (!ip.ok()) return pids;
  auto result = RunCommand({*ip, "netns", "pids", netns}, {}, kToolTimeout);
  if (!result.ok() || result->exit_code != 0) return pids;
  std::istringstream in(result->output);
  pid_t pid = 0;
  while (in >> pid) pids.push_back(pid);
  return pids;
}

}  // namespace

Result<std::string> SystemTool(const std::string& name) {
  for (const char* dir : {"/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    const std::string path = std::string(dir) + "/" + name;
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return NotFound(fmt::format("{} is not installed (scripts/deps.sh installs it)", name));
}

namespace {

Result<LocalNetwork> CreateOnce(const std::vector<NamespaceSpec>& specs) {
  auto subnet = FreeSubnet();
  if (!subnet.ok()) return subnet.status();
  LocalNetwork net;
  net.id = NewId();
  net.bridge = fmt::format("{}{}br", kPrefix, net.id);
  net.host_address = Dotted(*subnet + 1);
  uint32_t next = *subnet + kFirstNamespaceAddress;
  for (size_t k = 0; k < specs.size(); ++k) {
    LocalNamespace ns;
    ns.label = specs[k].label;
    ns.name = fmt::format("{}-{}-{}", kPrefix, net.id, specs[k].label);
    ns.host_veth = fmt::format("{}{}v{}", kPrefix, net.id, k);
    for (int a = 0; a < specs[k].addresses; ++a) ns.addresses.push_back(Dotted(next++));
    if ((next & 0xff) >= 0xff) return InvalidArgument("too many addresses for one /24");
    net.namespaces.push_back(ns);
  }
  const std::string cidr = fmt::format("/{}", net.prefix_length);
  Status s = Ip({"link", "add", net.bridge, "type", "bridge"});
  if (s.ok()) s = Ip({"addr", "add", net.host_address + cidr, "dev", net.bridge});
  if (s.ok()) s = Ip({"link", "set", net.bridge, "up"});
  for (const auto& ns : net.namespaces) {
    if (s.ok()) s = Ip({"netns", "add", ns.name});
    if (s.ok()) {
      s = Ip(
          {"link", "add", ns.host_veth, "type", "veth", "peer", "name", "eth0", "netns", ns.name});
    }
    if (s.ok()) s = Ip({"link", "set", ns.host_veth, "master", net.bridge});
    if (s.ok()) s = Ip({"link", "set", ns.host_veth, "up"});
    if (s.ok()) s = Ip({"-n", ns.name, "link", "set", "lo", "up"});
    for (const auto& address : ns.addresses) {
      if (s.ok()) s = Ip({"-n", ns.name, "addr", "add", address + cidr, "dev", "eth0"});
    }
    if (s.ok()) s = Ip({"-n", ns.name, "link", "set", "eth0", "up"});
  }
  // Another run may have picked the same /24 at the same moment: then this one gives it up.
  if (s.ok()) {
    for (const std::string& other : InterfacesIn(*subnet)) {
      if (other != net.bridge) s = Aborted(other + " took the same network at the same time");
    }
  }
  if (!s.ok()) {
    (void)net.Destroy();
    return s.WithContext("creating the namespaces' network");
  }
  return net;
}

}  // namespace

Result<LocalNetwork> LocalNetwork::Create(const std::vector<NamespaceSpec>& specs) {
  if (geteuid() != 0) return FailedPrecondition("network namespaces need root");
  for (const char* tool : {"ip", "setpriv"}) {
    if (auto found = SystemTool(tool); !found.ok()) return found.status();
  }
  RemoveLeftovers();
  Result<LocalNetwork> created = Aborted("not tried");
  for (int attempt = 0; attempt < 3 && created.status().code() == StatusCode::kAborted; ++attempt) {
    created = CreateOnce(specs);
  }
  return created;
}

Status LocalNetwork::Destroy() const {
  Status first;
  for (const auto& ns : namespaces) {
    if (!fs::exists(fs::path(kNetnsDir) / ns.name)) continue;
    for (pid_t pid : PidsIn(ns.name)) {
      if (pid != getpid()) kill(pid, SIGKILL);
    }
    for (pid_t pid : PidsIn(ns.name)) WaitForExit(pid, std::chrono::seconds(5));
    if (Status s = Ip({"netns", "delete", ns.name}); !s.ok() && first.ok()) first = s;
  }
  for (const auto& ns : namespaces) {
    if (fs::exists(fs::path("/sys/class/net") / ns.host_veth))
      (void)Ip({"link", "delete", ns.host_veth});
  }
  if (!bridge.empty() && fs::exists(fs::path("/sys/class/net") / bridge)) {
    if (Status s = Ip({"link", "delete", bridge}); !s.ok() && first.ok()) first = s;
  }
  return first;
}

void LocalNetwork::RemoveLeftovers() {
  std::map<std::string, LocalNetwork> leftovers;  // by id
  auto leftover = [&](const std::string& name) -> LocalNetwork* {
    const std::string id = IdOf(name);
    if (id.empty()) return nullptr;
    const pid_t owner = OwnerOf(id);
    if (owner == getpid() || ProcessAlive(owner)) return nullptr;
    LocalNetwork& net = leftovers[id];
    net.id = id;
    return &net;
  };
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kNetnsDir, ec)) {
    const std::string name = entry.path().filename().string();
    if (LocalNetwork* net = leftover(name)) net->namespaces.push_back({"", name, "", {}});
  }
  for (const auto& entry : fs::directory_iterator("/sys/class/net", ec)) {
    const std::string name = entry.path().filename().string();
    LocalNetwork* net = name.find('-') == std::string::npos ? leftover(name) : nullptr;
    if (net == nullptr) continue;
    if (name.size() > 2 && name.compare(name.size() - 2, 2, "br") == 0) {
      net->bridge = name;
    } else {
      net->namespaces.push_back({"", "", name, {}});
    }
  }
  for (const auto& [id, net] : leftovers) (void)net.Destroy();
}

const LocalNamespace* LocalNetwork::Find(const std::string& label) const {
  for (const auto& ns : namespaces) {
    if (ns.label == label) return &ns;
  }
  return nullptr;
}

std::vector<std::string> LocalNetwork::InNamespace(const std::string& netns,
                                                   const std::vector<std::string>& argv,
                                                   const std::optional<RunAs>& run_as) const {
  auto path = [](const std::string& tool) {
    auto found = SystemTool(tool);
    return found.ok() ? *found : "/usr/sbin/" + tool;  // Create checked both exist
  };
  std::vector<std::string> out = {path("ip"), "netns", "exec", netns};
  if (run_as) {
    out.insert(out.end(), {path("setpriv"), fmt::format("--reuid={}", run_as->uid),
                           fmt::format("--regid={}", run_as->gid), "--clear-groups", "--"});
  }
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

nlohmann::json LocalNetwork::ToJson() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& ns : namespaces) {
    list.push_back({{"label", ns.label},
                    {"name", ns.name},
                    {"host_veth", ns.host_veth},
                    {"addresses", ns.addresses}});
  }
  return {{"id", id},
          {"bridge", bridge},
          {"host_address", host_address},
          {"prefix_length", prefix_length},
          {"namespaces", list}};
}

Result<LocalNetwork> LocalNetwork::FromJson(const nlohmann::json& j) {
  try {
    LocalNetwork net;
    net.id = j.at("id");
    net.bridge = j.at("bridge");
    net.host_address = j.at("host_address");
    const auto prefix_length = JsonIntegerField<int>(j, "prefix_length", 24);
    if (!prefix_length) return InvalidArgument("network: prefix_length is not an integer");
    net.prefix_length = *prefix_length;
    for (const auto& ns : j.at("namespaces")) {
      net.namespaces.push_back({ns.at("label"), ns.at("name"), ns.at("host_veth"),
                                ns.at("addresses").get<std::vector<std::string>>()});
    }
    return net;
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("network: ") + e.what());
  }
}

Result<CommandResult> RunInNamespace(const std::string& netns, const std::vector<std::string>& argv,
                                     Duration timeout) {
  auto ip = SystemTool("ip");
  if (!ip.ok()) return ip.status();
  std::vector<std::string> full = {*ip, "netns", "exec", netns};
  full.insert(full.end(), argv.begin(), argv.end());
  return RunCommand(full, {}, timeout);
}

bool TcpConnects(const std::string& netns, const std::string& host, int port, Duration timeout) {
  if (netns.empty()) return TcpConnects(host, port, timeout);
  bool connected = false;
  // setns() moves only the calling thread, so the probe runs on a thread of its own.
  std::thread probe([&] {
    const int ns_fd = open((fs::path(kNetnsDir) / netns).c_str(), O_RDONLY | O_CLOEXEC);
    if (ns_fd < 0) return;
    const bool entered = setns(ns_fd, CLONE_NEWNET) == 0;
    close(ns_fd);
    if (entered) connected = TcpConnects(host, port, timeout);
  });
  probe.join();
  return connected;
}

}  // namespace baton
