// How the commands show things to a person: text made safe for a terminal, times, tables.
// Everything shown comes from outside (task ids, outputs, errors, worker names): no byte of it
// reaches the terminal as a control character.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace smith::services::cli {

/// `text` with every byte of a control character (C0, DEL, C1) or of an invalid UTF-8 sequence
/// written as \xNN, except newline, carriage return and tab, written as \n, \r and \t.
std::string escape_text(std::string_view text);

/// Unix milliseconds as RFC 3339 UTC with milliseconds: 2026-11-29T08:06:05.940Z.
std::string rfc3339_ms(std::int64_t unix_ms);

/// How far `unix_ms` is from `now_ms`: "3.2s ago", "in 59.7s", "4m05s ago", "2h10m ago",
/// "3d04h ago".
std::string age(std::int64_t unix_ms, std::int64_t now_ms);

/// A time field as people read it: "2026-11-29T08:06:05.940Z (3.2s ago)".
std::string when(std::int64_t unix_ms, std::int64_t now_ms);

/// A table with a header row; each column as wide as its widest cell, two spaces apart, the
/// columns in `right` (by index) aligned right, the last column not padded. Cells are escaped.
void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows,
                 const std::vector<std::size_t>& right = {});

/// A task's status for a person: one "key  value" line per field, times readable with their
/// age, the output in full with its control bytes escaped (docs/API.md, `smith status`).
void print_status(const nlohmann::json& s);

} // namespace smith::services::cli
