#include "services/common/json_depth.hpp"

#include <utility>
#include <vector>

namespace smith::services::common {

bool nests_deeper_than(const nlohmann::json& value, std::size_t limit) {
  std::vector<std::pair<const nlohmann::json*, std::size_t>> todo{{&value, 1}};
  while (!todo.empty()) {
    auto [node, depth] = todo.back();
    todo.pop_back();
    if (!node->is_structured())
      continue;
    if (depth > limit)
      return true;
    for (const auto& child : *node)
      todo.emplace_back(&child, depth + 1);
  }
  return false;
}

} // namespace smith::services::common
