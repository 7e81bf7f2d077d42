#include "actors/handler_registry.hpp"

#include "transport/wire/subjects.hpp"

#include <stdexcept>

namespace smith::actors {

handler_registry& handler_registry::add(std::string type, handler_fn fn, handler_options options) {
  if (!transport::wire::is_subject_token(type))
    throw std::invalid_argument("task type \"" + type
                                + "\" cannot stand in a subject: use no '.', '*', '>' or spaces");
  if (!fn)
    throw std::invalid_argument("task type \"" + type + "\": the handler is empty");
  auto [it, added] = entries_.emplace(std::move(type), entry{std::move(fn), options});
  if (!added)
    throw std::invalid_argument("task type \"" + it->first + "\" is registered twice");
  return *this;
}

handler_registry& handler_registry::set_fallback(handler_fn fn, handler_options options) {
  if (!fn)
    throw std::invalid_argument("the fallback handler is empty");
  fallback_ = entry{std::move(fn), options};
  return *this;
}

const handler_registry::entry* handler_registry::find(std::string_view type) const {
  auto it = entries_.find(type);
  if (it != entries_.end())
    return &it->second;
  return fallback_ ? &*fallback_ : nullptr;
}

std::vector<std::string> handler_registry::types() const {
  std::vector<std::string> out;
  for (const auto& [type, e] : entries_)
    out.push_back(type);
  if (fallback_)
    out.emplace_back("*");
  return out;
}

} // namespace smith::actors
