#include "core/config.h"

#include <fmt/format.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "core/http_url.h"

extern char** environ;  // NOLINT: POSIX

namespace baton {

const char* SyncModeName(SyncMode mode) {
  switch (mode) {
    case SyncMode::kOff:
      return "off";
    case SyncMode::kOn:
      return "on";
    case SyncMode::kQuorum:
      return "quorum";
  }
  return "off";
}

std::string HostPort::ToString() const {
  return fmt::format("{}:{}", host, port);
}

Result<HostPort> HostPort::Parse(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return InvalidArgument(fmt::format("expected host:port, got '{}'", text));
  }
  HostPort out;
  out.host = text.substr(0, colon);
  const std::string port = text.substr(colon + 1);
  auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), out.port);
  if (error != std::errc() || end != port.data() + port.size() || out.port < 1 ||
      out.port > 65535) {
    return InvalidArgument(fmt::format("expected host:port with a port 1-65535, got '{}'", text));
  }
  return out;
}

Result<HostPort> HostPort::ParseUrl(const std::string& url) {
  std::string authority = url;
  for (const char* scheme : {"http://", "https://"}) {
    if (authority.rfind(scheme, 0) == 0) authority = authority.substr(std::strlen(scheme));
  }
  return Parse(authority.substr(0, authority.find('/')));
}

Environment ProcessEnvironment() {
  Environment env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string text(*entry);
    auto eq = text.find('=');
    if (eq != std::string::npos) env[text.substr(0, eq)] = text.substr(eq + 1);
  }
  return env;
}

namespace {

constexpr const char* kEnvPrefix = "BATON_";
constexpr const char* kParametersPath = "postgresql.parameters";
// PostgreSQL settings baton derives itself; an operator's value would fight it.
constexpr const char* kReservedParameters[] = {
    "port", "listen_addresses", "hba_file", "unix_socket_directories", "synchronous_standby_names"};

std::string ReservedBecause(const std::string& parameter) {
  if (parameter == "synchronous_standby_names") {
    return "managed by baton (ha.synchronous_mode, ha.synchronous_node_count)";
  }
  return "set by baton from postgresql.listen and postgresql.socket_dir";
}

std::string EnvName(const std::string& path) {
  std::string out = kEnvPrefix;
  for (char c : path) {
    out += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

// A setter parses one raw string into the config, or says what is wrong with it.
using Setter = std::function<Status(Config&, const std::string&)>;

struct Field {
  std::string path;
  std::string default_value;  // applied when the key is absent; empty + required => error
  bool required;
  std::string help;
  Setter set;
};

// An integer from min to max into any integer field (the bounds fit the field's type).
template <typename Int>
Status ParseInt(const std::string& raw, long long min, long long max, Int* out) {
  long long value = 0;
  auto [end, error] = std::from_chars(raw.data(), raw.data() + raw.size(), value);
  if (error != std::errc() || end != raw.data() + raw.size() || value < min || value > max) {
    return InvalidArgument(
        fmt::format("must be an integer from {} to {}, got '{}'", min, max, raw));
  }
  *out = static_cast<Int>(value);
  return Status::Ok();
}

Status ParseSeconds(const std::string& raw, double min, double max, double* out) {
  char* end = nullptr;
  *out = std::strtod(raw.c_str(), &end);
  if (raw.empty() || end != raw.c_str() + raw.size() || *out < min || *out > max) {
    return InvalidArgument(
        fmt::format("must be a number of seconds from {} to {}, got '{}'", min, max, raw));
  }
  return Status::Ok();
}

Status ParseBool(const std::string& raw, bool* out) {
  std::string lower = raw;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (lower == "true" || lower == "yes" || lower == "on" || lower == "1") {
    *out = true;
  } else if (lower == "false" || lower == "no" || lower == "off" || lower == "0") {
    *out = false;
  } else {
    return InvalidArgument(fmt::format("must be true or false, got '{}'", raw));
  }
  return Status::Ok();
}

Status ParseName(const std::string& raw, std::string* out) {
  bool valid = !raw.empty() && raw.size() <= 63 && std::all_of(raw.begin(), raw.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
  if (!valid) {
    return InvalidArgument(fmt::format("must be 1-63 letters, digits, '-' or '_', got '{}'", raw));
  }
  *out = raw;
  return Status::Ok();
}

Status ParseAbsolutePath(const std::string& raw, std::string* out) {
  if (raw.empty() || raw[0] != '/') {
    return InvalidArgument(fmt::format("must be an absolute path, got '{}'", raw));
  }
  *out = raw;
  return Status::Ok();
}

Status ParseNonEmpty(const std::string& raw, std::string* out) {
  if (raw.empty()) return InvalidArgument("must not be empty");
  *out = raw;
  return Status::Ok();
}

Status ParseSyncMode(const std::string& raw, SyncMode* out) {
  for (SyncMode mode : {SyncMode::kOff, SyncMode::kOn, SyncMode::kQuorum}) {
    if (raw == SyncModeName(mode)) {
      *out = mode;
      return Status::Ok();
    }
  }
  return InvalidArgument(fmt::format("must be off, on or quorum, got '{}'", raw));
}

Status ParseHostPort(const std::string& raw, HostPort* out) {
  auto parsed = HostPort::Parse(raw);
  if (!parsed.ok()) return parsed.status();
  *out = *parsed;
  return Status::Ok();
}

Status ParseWebhook(const std::string& raw, std::string* out) {
  auto url = HttpUrl::Parse(raw);
  if (!url.ok()) return url.status();
  *out = raw;
  return Status::Ok();
}

const std::vector<Field>& Schema() {
  static const std::vector<Field> fields = {
      {"cluster.name", "", true, "Cluster name; keys live under /baton/<name>/ in etcd.",
       [](Config& c, const std::string& v) { return ParseName(v, &c.cluster_name); }},
      {"node.name", "", true, "This node's name, unique in the cluster.",
       [](Config& c, const std::string& v) { return ParseName(v, &c.node_name); }},
      {"etcd.endpoints", "", true, "etcd client endpoints, host:port (a YAML list or a,b,c).",
       [](Config& c, const std::string& v) { return ParseEtcdEndpoints(v, &c.etcd_endpoints); }},
      {"postgresql.data_dir", "", true, "PostgreSQL data directory (absolute path).",
       [](Config& c, const std::string& v) { return ParseAbsolutePath(v, &c.data_dir); }},
      {"postgresql.bin_dir", "/usr/lib/postgresql/15/bin", false,
       "Directory with initdb, postgres, pg_basebackup, pg_rewind.",
       [](Config& c, const std::string& v) { return ParseAbsolutePath(v, &c.bin_dir); }},
      {"postgresql.socket_dir", "/tmp", false, "Directory for PostgreSQL's Unix socket.",
       [](Config& c, const std::string& v) { return ParseAbsolutePath(v, &c.socket_dir); }},
      {"postgresql.listen", "", true, "host:port PostgreSQL listens on.",
       [](Config& c, const std::string& v) { return ParseHostPort(v, &c.pg_listen); }},
      {"postgresql.connect_address", "", false,
       "host:port other nodes and clients use to reach PostgreSQL (default: listen).",
       [](Config& c, const std::string& v) { return ParseHostPort(v, &c.pg_connect); }},
      {"postgresql.superuser.username", "postgres", false, "Superuser baton connects as.",
       [](Config& c, const std::string& v) { return ParseName(v, &c.superuser.username); }},
      {"postgresql.superuser.password", "", true, "Superuser password (never logged).",
       [](Config& c, const std::string& v) { return ParseNonEmpty(v, &c.superuser.password); }},
      {"postgresql.replication.username", "replicator", false, "Replication role name.",
       [](Config& c, const std::string& v) { return ParseName(v, &c.replication.username); }},
      {"postgresql.replication.password", "", true, "Replication role password (never logged).",
       [](Config& c, const std::string& v) { return ParseNonEmpty(v, &c.replication.password); }},
      {"restapi.listen", "", true, "host:port the REST API listens on.",
       [](Config& c, const std::string& v) { return ParseHostPort(v, &c.api_listen); }},
      {"restapi.connect_address", "", false,
       "host:port others use to reach the REST API (default: listen).",
       [](Config& c, const std::string& v) { return ParseHostPort(v, &c.api_connect); }},
      {"restapi.auth.token", "", false,
       "Bearer token the admin verbs require (Authorization: Bearer ...). Never logged.",
       [](Config& c, const std::string& v) { return ParseNonEmpty(v, &c.api_security.token); }},
      {"restapi.auth.username", "", false, "Basic-auth user the admin verbs accept.",
       [](Config& c, const std::string& v) {
         return ParseNonEmpty(v, &c.api_security.basic.username);
       }},
      {"restapi.auth.password", "", false, "Basic-auth password (never logged).",
       [](Config& c, const std::string& v) {
         return ParseNonEmpty(v, &c.api_security.basic.password);
       }},
      {"restapi.certfile", "", false, "PEM certificate: with restapi.keyfile the API uses HTTPS.",
       [](Config& c, const std::string& v) {
         return ParseAbsolutePath(v, &c.api_security.cert_file);
       }},
      {"restapi.keyfile", "", false, "PEM private key for restapi.certfile.",
       [](Config& c, const std::string& v) {
         return ParseAbsolutePath(v, &c.api_security.key_file);
       }},
      {"hooks.on_start", "", false, "Command run when the agent starts.",
       [](Config& c, const std::string& v) { return ParseNonEmpty(v, &c.hooks.on_start); }},
      {"hooks.on_stop", "", false, "Command run when the agent stops.",
       [](Config& c, const std::string& v) { return ParseNonEmpty(v, &c.hooks.on_stop); }},
      {"hooks.on_role_change", "", false, "Command run when this node's role changes.",
       [](Config& c, const std::string& v) { return ParseNonEmpty(v, &c.hooks.on_role_change); }},
      {"hooks.on_failover", "", false,
       "Command run when this node is promoted to replace the leader.",
       [](Config& c, const std::string& v) { return ParseNonEmpty(v, &c.hooks.on_failover); }},
      {"hooks.pre_promote", "", false,
       "Command run before this node is promoted; a non-zero exit aborts the promotion.",
       [](Config& c, const std::string& v) { return ParseNonEmpty(v, &c.hooks.pre_promote); }},
      {"hooks.fence_command", "", false,
       "Command that fences the old leader before a failover promotes this node; must succeed.",
       [](Config& c, const std::string& v) { return ParseNonEmpty(v, &c.hooks.fence_command); }},
      {"hooks.on_alert", "", false,
       "Command run for each alert event, with its JSON in BATON_ALERT.",
       [](Config& c, const std::string& v) { return ParseNonEmpty(v, &c.hooks.on_alert); }},
      {"hooks.timeout", "30", false, "Seconds a hook may run before it is killed.",
       [](Config& c, const std::string& v) {
         return ParseSeconds(v, 0.1, 3600, &c.hooks.timeout_seconds);
       }},
      {"alerts.webhook", "", false,
       "http(s)://host[:port]/path that gets each alert event as a JSON POST.",
       [](Config& c, const std::string& v) { return ParseWebhook(v, &c.alerts.webhook); }},
      {"alerts.timeout", "5", false, "Seconds one webhook delivery attempt may take.",
       [](Config& c, const std::string& v) {
         return ParseSeconds(v, 0.1, 300, &c.alerts.timeout_seconds);
       }},
      {"alerts.retries", "3", false,
       "Further attempts after a failed delivery, with a backoff doubling from 1 s (0-20).",
       [](Config& c, const std::string& v) { return ParseInt(v, 0, 20, &c.alerts.retries); }},
      {"alerts.ca_file", "", false,
       "PEM CA bundle an https webhook's certificate is verified with (default: the system's).",
       [](Config& c, const std::string& v) { return ParseAbsolutePath(v, &c.alerts.ca_file); }},
      {"timing.ttl", "10", false, "Leader lease TTL in seconds (2-3600).",
       [](Config& c, const std::string& v) { return ParseInt(v, 2, 3600, &c.timing.ttl_seconds); }},
      {"timing.loop_wait", "1", false, "Seconds between agent loops when nothing happens.",
       [](Config& c, const std::string& v) {
         return ParseSeconds(v, 0.05, 600, &c.timing.loop_wait_seconds);
       }},
      {"timing.retry_timeout", "3", false,
       "Seconds one etcd call may take before it counts as failed.",
       [](Config& c, const std::string& v) {
         return ParseSeconds(v, 0.1, 600, &c.timing.retry_timeout_seconds);
       }},
      {"timing.primary_start_timeout", "30", false,
       "Seconds a dead primary may take to restart in place before the key is given up.",
       [](Config& c, const std::string& v) {
         return ParseSeconds(v, 0, 3600, &c.timing.primary_start_timeout_seconds);
       }},
      {"timing.maximum_lag_on_failover", "1048576", false,
       "Bytes a replica may lag and still be promoted automatically.",
       [](Config& c, const std::string& v) {
         return ParseInt(v, 0, 1LL << 50, &c.timing.maximum_lag_on_failover);
       }},
      {"ha.synchronous_mode", "off", false,
       "off, on (FIRST k chosen standbys) or quorum (ANY k of every streaming standby).",
       [](Config& c, const std::string& v) { return ParseSyncMode(v, &c.ha.synchronous_mode); }},
      {"ha.synchronous_node_count", "1", false,
       "How many standbys must confirm each commit in synchronous mode (1-16).",
       [](Config& c, const std::string& v) {
         return ParseInt(v, 1, 16, &c.ha.synchronous_node_count);
       }},
      {"ha.synchronous_mode_strict", "false", false,
       "With too few synchronous standbys, writes wait instead of going asynchronous.",
       [](Config& c, const std::string& v) { return ParseBool(v, &c.ha.synchronous_mode_strict); }},
      {"ha.failsafe_mode", "false", false,
       "Keep the primary running through an etcd outage while every member confirms it.",
       [](Config& c, const std::string& v) { return ParseBool(v, &c.ha.failsafe_mode); }},
      {"ha.early_takeover", "true", false,
       "Asynchronous mode: take over at once from a leader whose node refuses both its ports.",
       [](Config& c, const std::string& v) { return ParseBool(v, &c.ha.early_takeover); }},
      {"router.read_write", "", false,
       "host:port the router's read-write port listens on (to the leader); sets up a router.",
       [](Config& c, const std::string& v) { return ParseHostPort(v, &c.router.read_write); }},
      {"router.read_only", "", false,
       "host:port the router's read-only port listens on (to caught-up replicas).",
       [](Config& c, const std::string& v) { return ParseHostPort(v, &c.router.read_only); }},
      {"router.hold_timeout", "10", false,
       "Seconds a new connection waits for a writable leader (or a replica) before it is closed.",
       [](Config& c, const std::string& v) {
         return ParseSeconds(v, 0, 3600, &c.router.hold_timeout_seconds);
       }},
      {"router.maximum_lag", "1048576", false,
       "Bytes a replica may lag the leader and still take read-only connections.",
       [](Config& c, const std::string& v) {
         return ParseInt(v, 0, 1LL << 50, &c.router.maximum_lag);
       }},
      {"pgbouncer.listen", "", false,
       "host:port of a PgBouncer to keep pointed at the leader (its admin console).",
       [](Config& c, const std::string& v) { return ParseHostPort(v, &c.pgbouncer.admin); }},
      {"pgbouncer.username", "", false, "A user in PgBouncer's admin_users.",
       [](Config& c, const std::string& v) {
         return ParseNonEmpty(v, &c.pgbouncer.admin_user.username);
       }},
      {"pgbouncer.password", "", false, "That user's password (never logged).",
       [](Config& c, const std::string& v) {
         return ParseNonEmpty(v, &c.pgbouncer.admin_user.password);
       }},
      {"pgbouncer.database", "", false, "The [databases] entry baton points at the leader.",
       [](Config& c, const std::string& v) { return ParseName(v, &c.pgbouncer.database); }},
      {"pgbouncer.dbname", "", false,
       "The database that entry names on the leader (default: pgbouncer.database).",
       [](Config& c, const std::string& v) { return ParseNonEmpty(v, &c.pgbouncer.dbname); }},
      {"pgbouncer.databases_file", "", false,
       "File baton rewrites with that entry; pgbouncer.ini must %include it.",
       [](Config& c, const std::string& v) {
         return ParseAbsolutePath(v, &c.pgbouncer.databases_file);
       }},
      {"tags.nofailover", "false", false, "Never promote this node automatically.",
       [](Config& c, const std::string& v) { return ParseBool(v, &c.tags.nofailover); }},
      {"tags.priority", "1", false, "Failover preference among equally caught-up replicas.",
       [](Config& c, const std::string& v) { return ParseInt(v, 0, 1000000, &c.tags.priority); }},
  };
  return fields;
}

// Flattens YAML into path -> scalar text; sequences become comma-joined text.
Status Flatten(const YAML::Node& node, const std::string& path,
               std::map<std::string, std::string>* out) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      for (const auto& child : node) {
        const std::string key = child.first.as<std::string>();
        Status s = Flatten(child.second, path.empty() ? key : path + "." + key, out);
        if (!s.ok()) return s;
      }
      return Status::Ok();
    case YAML::NodeType::Sequence: {
      std::string joined;
      for (const auto& item : node) {
        if (!item.IsScalar())
          return InvalidArgument(fmt::format("key '{}': list items must be plain values", path));
        joined += (joined.empty() ? "" : ",") + item.as<std::string>();
      }
      (*out)[path] = joined;
      return Status::Ok();
    }
    case YAML::NodeType::Scalar:
      (*out)[path] = node.as<std::string>();
      return Status::Ok();
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      (*out)[path] = "";
      return Status::Ok();
  }
  return Status::Ok();
}

// The keys a router-only file must have (the others a node needs are optional there).
bool RouterNeeds(const std::string& path) {
  return path == "cluster.name" || path == "etcd.endpoints";
}

// A PgBouncer section is all there or absent; its dbname defaults to the entry's name.
Status CheckPgBouncer(PgBouncerSettings& p) {
  const bool any = p.Configured() || !p.admin_user.username.empty() ||
                   !p.admin_user.password.empty() || !p.database.empty() ||
                   !p.databases_file.empty() || !p.dbname.empty();
  if (!any) return Status::Ok();
  for (const auto& [key, missing] :
       {std::pair{"pgbouncer.listen", !p.Configured()},
        std::pair{"pgbouncer.username", p.admin_user.username.empty()},
        std::pair{"pgbouncer.password", p.admin_user.password.empty()},
        std::pair{"pgbouncer.database", p.database.empty()},
        std::pair{"pgbouncer.databases_file", p.databases_file.empty()}}) {
    if (missing) {
      return InvalidArgument(
          fmt::format("key '{}': is required with PgBouncer (pgbouncer.listen, username, password, "
                      "database, databases_file go together)",
                      key));
    }
  }
  if (p.dbname.empty()) p.dbname = p.database;
  return Status::Ok();
}

}  // namespace

Status ParseEtcdEndpoints(const std::string& raw, std::vector<std::string>* out) {
  out->clear();
  std::stringstream stream(raw);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (item.rfind("https://", 0) == 0) {
      return InvalidArgument(
          fmt::format("'{}': TLS to etcd is not supported (give host:port)", item));
    }
    auto parsed = HostPort::ParseUrl(item);
    if (!parsed.ok()) return parsed.status();
    out->push_back(parsed->ToString());
  }
  if (out->empty()) return InvalidArgument("must list at least one host:port");
  return Status::Ok();
}

std::vector<ConfigKeyInfo> ConfigKeys() {
  std::vector<ConfigKeyInfo> keys;
  for (const Field& f : Schema()) {
    keys.push_back({f.path, EnvName(f.path), f.default_value, f.required, f.help});
  }
  keys.push_back({std::string(kParametersPath) + ".<name>", EnvName(kParametersPath) + "_<NAME>",
                  "", false, "Any PostgreSQL setting, written to postgresql.conf."});
  return keys;
}

Result<Config> ParseConfig(const std::string& yaml_text, const std::string& source,
                           const Environment& env, ConfigScope scope) {
  std::map<std::string, std::string> values;
  std::map<std::string, std::string> origin;  // path -> where the value came from
  try {
    YAML::Node root = YAML::Load(yaml_text);
    if (!root.IsNull() && !root.IsMap()) {
      return InvalidArgument(fmt::format("config {}: the top level must be a mapping", source));
    }
    Status s = Flatten(root, "", &values);
    if (!s.ok()) return s.WithContext("config " + source);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(fmt::format("config {}: not valid YAML: {}", source, e.what()));
  }
  for (const auto& [path, value] : values) origin[path] = source;

  // Environment overrides win over the file.
  for (const Field& f : Schema()) {
    auto it = env.find(EnvName(f.path));
    if (it != env.end()) {
      values[f.path] = it->second;
      origin[f.path] = it->first;
    }
  }
  const std::string param_env_prefix = EnvName(kParametersPath) + "_";
  for (const auto& [name, value] : env) {
    if (name.rfind(param_env_prefix, 0) != 0 || name.size() == param_env_prefix.size()) continue;
    std::string param = name.substr(param_env_prefix.size());
    std::transform(param.begin(), param.end(), param.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    values[std::string(kParametersPath) + "." + param] = value;
    origin[std::string(kParametersPath) + "." + param] = name;
  }

  Config config;
  config.source = source;
  std::set<std::string> known;
  for (const Field& f : Schema()) {
    known.insert(f.path);
    auto it = values.find(f.path);
    std::string raw;
    std::string from = source;
    if (it != values.end()) {
      raw = it->second;
      from = origin[f.path];
    } else if (f.required && (scope == ConfigScope::kNode || RouterNeeds(f.path))) {
      return InvalidArgument(
          fmt::format("config {}: key '{}': is required ({})", source, f.path, f.help));
    } else if (f.default_value.empty()) {
      continue;  // optional with a derived default, filled in below, or not for this scope
    } else {
      raw = f.default_value;
      from = "default";
    }
    Status s = f.set(config, raw);
    if (!s.ok()) {
      std::string where =
          from == source ? "config " + source : "config " + source + " (from " + from + ")";
      return InvalidArgument(fmt::format("{}: key '{}': {}", where, f.path, s.message()));
    }
  }
  const std::string param_prefix = std::string(kParametersPath) + ".";
  for (const auto& [path, value] : values) {
    if (known.count(path)) continue;
    if (path.rfind(param_prefix, 0) == 0) {
      config.pg_parameters[path.substr(param_prefix.size())] = value;
      continue;
    }
    return InvalidArgument(fmt::format("config {}: key '{}': unknown key", source, path));
  }
  if (Status s = CheckPgBouncer(config.pgbouncer); !s.ok()) {
    return InvalidArgument(fmt::format("config {}: {}", source, s.message()));
  }
  if (config.router.read_only.port != 0 && !config.router.Configured()) {
    return InvalidArgument(fmt::format(
        "config {}: key 'router.read_only': needs router.read_write (the router's other port)",
        source));
  }
  if (scope == ConfigScope::kRouter && !config.router.Configured() &&
      !config.pgbouncer.Configured()) {
    return InvalidArgument(fmt::format(
        "config {}: key 'router.read_write': is required for baton router (the read-write "
        "port's host:port), unless the file has a pgbouncer section",
        source));
  }
  if (config.pg_connect.port == 0) config.pg_connect = config.pg_listen;
  if (config.api_connect.port == 0) config.api_connect = config.api_listen;

  const ApiSecurity& security = config.api_security;
  if (security.basic.username.empty() != security.basic.password.empty()) {
    return InvalidArgument(
        fmt::format("config {}: key 'restapi.auth.password': restapi.auth.username and "
                    "restapi.auth.password go together",
                    source));
  }
  if (security.cert_file.empty() != security.key_file.empty()) {
    return InvalidArgument(
        fmt::format("config {}: key 'restapi.keyfile': restapi.certfile and restapi.keyfile go "
                    "together",
                    source));
  }
  const auto webhook = HttpUrl::Parse(config.alerts.webhook);
  if (!config.alerts.ca_file.empty() && !(webhook.ok() && webhook->tls())) {
    return InvalidArgument(
        fmt::format("config {}: key 'alerts.ca_file': needs an https:// alerts.webhook", source));
  }
  const Timing& t = config.timing;
  if (t.loop_wait_seconds >= t.ttl_seconds) {
    return InvalidArgument(
        fmt::format("config {}: key 'timing.loop_wait': must be below timing.ttl ({} s)", source,
                    t.ttl_seconds));
  }
  if (t.retry_timeout_seconds >= t.ttl_seconds) {
    return InvalidArgument(
        fmt::format("config {}: key 'timing.retry_timeout': must be below timing.ttl ({} s)",
                    source, t.ttl_seconds));
  }
  for (const char* reserved : kReservedParameters) {
    if (config.pg_parameters.count(reserved)) {
      return InvalidArgument(fmt::format("config {}: key 'postgresql.parameters.{}': {}; remove it",
                                         source, reserved, ReservedBecause(reserved)));
    }
  }
  return config;
}

bool IsDynamicKey(const std::string& path) {
  static const std::set<std::string> timing = {"timing.ttl", "timing.loop_wait",
                                               "timing.primary_start_timeout",
                                               "timing.maximum_lag_on_failover"};
  const std::string param_prefix = std::string(kParametersPath) + ".";
  const bool ha_key =
      path.rfind("ha.", 0) == 0 &&
      std::any_of(Schema().begin(), Schema().end(), [&](const Field& f) { return f.path == path; });
  return timing.count(path) > 0 || ha_key ||
         (path.rfind(param_prefix, 0) == 0 && path.size() > param_prefix.size());
}

Result<Config> ApplyDynamicConfig(const Config& local, const DynamicSettings& settings) {
  Config config = local;
  const std::string param_prefix = std::string(kParametersPath) + ".";
  for (const auto& [path, value] : settings) {
    if (!IsDynamicKey(path)) {
      return InvalidArgument(fmt::format(
          "dynamic config: key '{}': cannot be set cluster-wide (allowed: timing.ttl, "
          "timing.loop_wait, timing.primary_start_timeout, timing.maximum_lag_on_failover, "
          "ha.synchronous_mode, ha.synchronous_node_count, ha.synchronous_mode_strict, "
          "ha.failsafe_mode, postgresql.parameters.<name>)",
          path));
    }
    if (path.rfind(param_prefix, 0) == 0) {
      const std::string name = path.substr(param_prefix.size());
      for (const char* reserved : kReservedParameters) {
        if (name == reserved) {
          return InvalidArgument(
              fmt::format("dynamic config: key '{}': {}", path, ReservedBecause(reserved)));
        }
      }
      if (value.empty()) {
        config.pg_parameters.erase(name);
      } else {
        config.pg_parameters[name] = value;
      }
      continue;
    }
    for (const Field& f : Schema()) {
      if (f.path != path) continue;
      if (Status s = f.set(config, value); !s.ok()) {
        return InvalidArgument(fmt::format("dynamic config: key '{}': {}", path, s.message()));
      }
    }
  }
  const Timing& t = config.timing;
  if (t.loop_wait_seconds >= t.ttl_seconds) {
    return InvalidArgument(fmt::format(
        "dynamic config: key 'timing.loop_wait': must be below timing.ttl ({} s)", t.ttl_seconds));
  }
  if (t.retry_timeout_seconds >= t.ttl_seconds) {
    return InvalidArgument(
        fmt::format("dynamic config: key 'timing.ttl': must be above timing.retry_timeout ({} s)",
                    t.retry_timeout_seconds));
  }
  return config;
}

Result<Config> LoadConfigFile(const std::string& path, const Environment& env, ConfigScope scope) {
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) {
    return InvalidArgument(fmt::format("config {}: is a directory, not a config file", path));
  }
  std::ifstream in(path);
  if (!in) {
    return InvalidArgument(
        fmt::format("config {}: cannot read the file: {}", path, std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path, env, scope);
}

}  // namespace baton
