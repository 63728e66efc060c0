#include <iostream>

#include "cli/commands.h"

namespace baton {

int ConfigCheckCommand(const std::string& config_path) {
  auto config = LoadConfigFile(config_path, ProcessEnvironment());
  if (!config.ok()) {
    std::cerr << config.status().message() << "\n";
    return kExitBadInput;
  }
  std::cout << "config " << config_path << ": OK (cluster " << config->cluster_name << ", node "
            << config->node_name << ")\n";
  return kExitOk;
}

}  // namespace baton
