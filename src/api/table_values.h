// How the compact tables (api/job_table.h, api/node_table.h) write a field's value into JSON text
// and read it back from a JsonCell, for the plain types the model's records are made of. A value
// is written as the record's DOM codec (json_model.h) writes it; a null cell leaves the field at
// its default, as a missing key does for the DOM's readers.
#pragma once

#include <charconv>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "api/json_string.h"
#include "api/json_table.h"

namespace shoal {
namespace table_values {

template <typename T>
void AppendInt(T v, std::string* out) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, res.ptr);
}

inline void AppendValue(const std::string& v, std::string* out) { AppendJsonString(v, out); }
inline void AppendValue(bool v, std::string* out) { out->append(v ? "true" : "false"); }
template <typename T>
std::enable_if_t<std::is_integral_v<T>> AppendValue(T v, std::string* out) {
  AppendInt(v, out);
}
inline void AppendValue(const std::vector<bool>& v, std::string* out) {
  out->push_back('[');
  for (size_t k = 0; k < v.size(); ++k) {
    if (k > 0) out->push_back(',');
    AppendValue(static_cast<bool>(v[k]), out);
  }
  out->push_back(']');
}
template <typename T>
void AppendValue(const std::vector<T>& v, std::string* out) {
  out->push_back('[');
  for (size_t k = 0; k < v.size(); ++k) {
    if (k > 0) out->push_back(',');
    AppendValue(v[k], out);
  }
  out->push_back(']');
}

inline bool ReadValue(JsonCell& c, bool& out) {
  if (c.kind == JsonCell::kNull) return true;
  if (c.kind != JsonCell::kBool) return false;
  out = c.b;
  return true;
}
inline bool ReadValue(JsonCell& c, std::string& out) {
  if (c.kind == JsonCell::kNull) return true;
  if (c.kind != JsonCell::kString) return false;
  out = std::move(*c.text);
  return true;
}
template <typename T>
std::enable_if_t<std::is_integral_v<T>, bool> ReadValue(JsonCell& c, T& out) {
  if (c.kind == JsonCell::kNull) return true;
  if (c.kind == JsonCell::kUint) {
    if (c.u > static_cast<uint64_t>(std::numeric_limits<T>::max())) return false;
    out = static_cast<T>(c.u);
    return true;
  }
  if (c.kind != JsonCell::kInt) return false;
  if constexpr (std::is_unsigned_v<T>) {
    if (c.i < 0 || static_cast<uint64_t>(c.i) > std::numeric_limits<T>::max()) return false;
  } else {
    if (c.i < std::numeric_limits<T>::min() || c.i > std::numeric_limits<T>::max()) return false;
  }
  out = static_cast<T>(c.i);
  return true;
}
// An array of strings, booleans or integers (arrays arrive as nested DOM values).
template <typename T>
bool ReadValue(JsonCell& c, std::vector<T>& out) {
  if (c.kind == JsonCell::kNull) return true;
  if (c.kind != JsonCell::kNested || !c.nested->is_array()) return false;
  out.clear();
  for (Json& e : *c.nested) {
    if constexpr (std::is_same_v<T, std::string>) {
      if (!e.is_string()) return false;
      out.push_back(std::move(e.get_ref<std::string&>()));
    } else if constexpr (std::is_same_v<T, bool>) {
      if (!e.is_boolean()) return false;
      out.push_back(e.get<bool>());
    } else {
      static_assert(std::is_integral_v<T>);
      if (!e.is_number_integer()) return false;
      if constexpr (std::is_unsigned_v<T>) {
        if (!e.is_number_unsigned() ||
            e.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
          return false;
        }
        out.push_back(static_cast<T>(e.get<uint64_t>()));
      } else {
        const int64_t v = e.get<int64_t>();
        if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) return false;
        out.push_back(static_cast<T>(v));
      }
    }
  }
  return true;
}

}  // namespace table_values
}  // namespace shoal
