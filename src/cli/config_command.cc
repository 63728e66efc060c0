#include <iostream>

#include "api/http_server.h"
#include "cli/commands.h"

namespace baton {

int ConfigCheckCommand(const std::string& config_path) {
  auto config = LoadConfigFile(config_path, ProcessEnvironment());
  if (!config.ok()) {
    std::cerr << config.status().message() << "\n";
    return kExitBadInput;
  }
  // The agent would refuse to start on these; say so now.
  if (config->api_security.TlsConfigured()) {
    const Status tls = CheckTlsFiles(config->api_security.cert_file, config->api_security.key_file);
    if (!tls.ok()) {
      std::cerr << "config " << config_path << ": " << tls.message() << "\n";
      return kExitBadInput;
    }
  }
  std::cout << "config " << config_path << ": OK (cluster " << config->cluster_name << ", node "
            << config->node_name << ")\n";
  return kExitOk;
}

}  // namespace baton
