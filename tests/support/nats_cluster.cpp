// Readiness of a JetStream cluster as the nodes report it on /healthz and /jsz.
#include "support/nats_cluster.hpp"

#include "support/wait.hpp"

#include <utility>

namespace smith::testing {

namespace {

using namespace std::chrono_literals;

// nats-server 2.9.10 leaves "leader" out of meta_cluster while it knows none, and keeps
// naming a dead leader for a few seconds after it died.
std::string reported_leader(const nlohmann::json& jsz) {
  static const nlohmann::json::json_pointer ptr{"/meta_cluster/leader"};
  return jsz.contains(ptr) && jsz.at(ptr).is_string() ? jsz.at(ptr).get<std::string>() : "";
}

} // namespace

// -- constructors, destructors, and assignment operators --------------------------------------

nats_cluster::nats_cluster(std::size_t size, const std::string& name) {
  if (size == 0)
    throw std::invalid_argument("nats_cluster: size must be at least 1");
  for (int attempt = 1;; ++attempt) {
    try {
      launch(name, size);
      break;
    } catch (const port_in_use&) {
      // Every node's routes name the taken port, so the whole cluster needs new ports.
      nodes_.clear();
      if (attempt == max_start_attempts)
        throw;
    }
  }
  wait_ready();
}

// -- properties -------------------------------------------------------------------------------

std::string nats_cluster::urls() const {
  std::string result;
  for (const auto& node : nodes_) {
    if (!result.empty())
      result += ',';
    result += node->url();
  }
  return result;
}

std::optional<std::size_t> nats_cluster::leader() {
  std::string agreed;
  for (auto& node : nodes_) {
    if (!node->running())
      continue;
    // A node can report the leader while /healthz still says it is not current with it.
    if (!node->healthy())
      return std::nullopt;
    auto jsz = node->monitor("/jsz");
    if (!jsz)
      return std::nullopt;
    auto name = reported_leader(*jsz);
    if (name.empty() || (!agreed.empty() && name != agreed))
      return std::nullopt;
    agreed = std::move(name);
  }
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i]->name() == agreed && nodes_[i]->running())
      return i;
  return std::nullopt;
}

// -- waiting ----------------------------------------------------------------------------------

void nats_cluster::wait_ready(std::chrono::milliseconds deadline) {
  auto ready = [this] {
    auto index = leader();
    return index && leader_sees_all(*index);
  };
  if (!wait_until(ready, deadline, 50ms))
    throw std::runtime_error("nats_cluster: no meta leader known to all running nodes within "
                             + std::to_string(deadline.count()) + " ms\n" + describe());
}

// -- failures ---------------------------------------------------------------------------------

void nats_cluster::kill(std::size_t index) {
  node(index).kill();
}

void nats_cluster::stop(std::size_t index) {
  node(index).stop();
}

void nats_cluster::start(std::size_t index) {
  node(index).start();
  std::size_t running = 0;
  for (auto& node : nodes_)
    running += node->running() ? 1 : 0;
  if (running * 2 > nodes_.size())
    wait_ready();
}

// -- private helpers --------------------------------------------------------------------------

void nats_cluster::launch(const std::string& name, std::size_t size) {
  std::vector<int> route_ports;
  for (std::size_t i = 0; i < size; ++i)
    route_ports.push_back(free_port());
  for (std::size_t i = 0; i < size; ++i) {
    server_options options;
    options.name = name + "-" + std::to_string(i);
    options.cluster_name = name;
    options.cluster_port = route_ports[i];
    options.routes = route_ports;
    // A node is healthy only once a quorum runs, so nodes are started first, waited for after.
    options.wait_healthy = false;
    nodes_.push_back(std::make_unique<nats_server>(std::move(options)));
  }
}

bool nats_cluster::leader_sees_all(std::size_t leader) {
  auto jsz = nodes_[leader]->monitor("/jsz");
  if (!jsz)
    return false;
  // The leader's own view: which followers have caught up with the meta log.
  static const nlohmann::json::json_pointer ptr{"/meta_cluster/replicas"};
  auto replicas = jsz->value(ptr, nlohmann::json::array());
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (i == leader || !nodes_[i]->running())
      continue;
    bool current = false;
    for (const auto& replica : replicas)
      current =
        current
        || (replica.value("name", "") == nodes_[i]->name() && replica.value("current", false));
    if (!current)
      return false;
  }
  return true;
}

std::string nats_cluster::describe() {
  std::string result;
  for (auto& node : nodes_) {
    result += "-- " + node->name() + " (" + node->url() + ", monitor "
              + std::to_string(node->monitor_port()) + "): ";
    if (!node->running()) {
      result += "not running\n";
      continue;
    }
    auto health = node->monitor("/healthz");
    auto jsz = node->monitor("/jsz");
    result += "healthz " + (health ? health->dump() : std::string{"no answer"}) + ", meta_cluster "
              + (jsz && jsz->contains("meta_cluster") ? jsz->at("meta_cluster").dump()
                                                      : std::string{"no answer"})
              + "\n" + node->log_tail(10) + "\n";
  }
  return result;
}

} // namespace smith::testing
