#include "sim/swf.h"

#include <zlib.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace shoal {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// "; MaxProcs: 1152 (batch partition)" -> 1152 for key "MaxProcs".
void ParseHeaderLine(std::string_view line, SwfHeader& header) {
  line.remove_prefix(1);
  while (!line.empty() && IsSpace(line.front())) line.remove_prefix(1);
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return;
  std::string_view key = line.substr(0, colon);
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && IsSpace(value.front())) value.remove_prefix(1);
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || ptr == value.data()) return;
  if (key == "MaxNodes") header.max_nodes = n;
  if (key == "MaxProcs") header.max_procs = n;
}

// One field: an integer, optionally with a fraction (truncated). Empty string: OK.
std::string ParseField(std::string_view token, int64_t& out) {
  const char* begin = token.data();
  const char* end = begin + token.size();
  auto [ptr, ec] = std::from_chars(begin, end, out);
  if (ec == std::errc::result_out_of_range)
    return "number out of range '" + std::string(token) + "'";
  if (ec != std::errc()) {
    // "-.5" or ".5": no integer part.
    if (token.size() > 1 && (token[0] == '.' || (token[0] == '-' && token[1] == '.'))) {
      out = 0;
      ptr = begin + (token[0] == '-' ? 1 : 0);
    } else {
      return "not a number '" + std::string(token) + "'";
    }
  }
  if (ptr != end && *ptr == '.') {
    ++ptr;
    while (ptr != end && *ptr >= '0' && *ptr <= '9') ++ptr;
  }
  if (ptr != end) return "not a number '" + std::string(token) + "'";
  return "";
}

}  // namespace

Result<SwfTrace> ParseSwf(std::string_view text, std::string_view file_name, BadLinePolicy policy) {
  SwfTrace trace;
  trace.records.reserve(text.size() / 80);
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    size_t first = 0;
    while (first < line.size() && IsSpace(line[first])) ++first;
    if (first == line.size()) continue;  // blank
    if (line[first] == ';') {
      ParseHeaderLine(line.substr(first), trace.header);
      continue;
    }
    SwfRecord rec;
    rec.line = line_no;
    std::string error;
    size_t count = 0;
    size_t i = first;
    while (i < line.size() && error.empty()) {
      size_t j = i;
      while (j < line.size() && !IsSpace(line[j])) ++j;
      if (count < rec.f.size()) {
        error = ParseField(line.substr(i, j - i), rec.f[count]);
      }
      ++count;
      i = j;
      while (i < line.size() && IsSpace(line[i])) ++i;
    }
    if (error.empty() && count != rec.f.size()) {
      error = "expected 18 fields, found " + std::to_string(count);
    }
    if (!error.empty()) {
      std::string where = std::string(file_name) + ":" + std::to_string(line_no) + ": ";
      if (policy == BadLinePolicy::kStop) return InvalidArgument(where + error);
      trace.skipped.push_back(where + error);
      continue;
    }
    trace.records.push_back(rec);
  }
  return trace;
}

Result<SwfTrace> ReadSwf(const std::string& path, BadLinePolicy policy) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) {
    return NotFound(path + ": " + (errno != 0 ? std::strerror(errno) : "cannot open"));
  }
  gzbuffer(file, 1 << 17);
  std::string text;
  char buf[1 << 16];
  while (true) {
    int n = gzread(file, buf, sizeof(buf));
    if (n < 0) {
      int code = 0;
      std::string message = gzerror(file, &code);
      gzclose(file);
      return InvalidArgument(path + ": " + message);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  int code = Z_OK;
  const char* message = gzerror(file, &code);
  if (code == Z_BUF_ERROR) {  // the input ended inside a gzip stream
    std::string text_message = path + ": " + message;
    gzclose(file);
    return InvalidArgument(text_message);
  }
  gzclose(file);
  return ParseSwf(text, path, policy);
}

}  // namespace shoal
