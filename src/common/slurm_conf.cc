#include "common/slurm_conf.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/strings.h"

namespace shoal {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// Drops a '#' comment (not inside quotes; "\#" is a literal '#') from one physical line.
std::string StripComment(std::string_view line) {
  std::string out;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == '\\' && i + 1 < line.size() && line[i + 1] == '#') {
      out += '#';
      ++i;
      continue;
    }
    if (c == '"') quoted = !quoted;
    if (c == '#' && !quoted) break;
    out += c;
  }
  return out;
}

// Splits one logical line into Key=Value pairs.
Status ParsePairs(std::string_view text, ConfLine& line) {
  auto error = [&](const std::string& why) { return InvalidArgument(line.Where() + ": " + why); };
  bool prev_value_empty = false;  // "Key= Value": the value went missing behind a space
  size_t i = 0;
  while (true) {
    while (i < text.size() && IsBlank(text[i])) ++i;
    if (i == text.size()) return Status::Ok();
    size_t start = i;
    while (i < text.size() && text[i] != '=' && !IsBlank(text[i])) ++i;
    std::string key(text.substr(start, i - start));
    if (i == text.size() || text[i] != '=') {
      size_t next = i;
      while (next < text.size() && IsBlank(text[next])) ++next;
      if (prev_value_empty || (next < text.size() && text[next] == '=')) {
        return error("spaces around '=' are not allowed near '" + key + "'");
      }
      return error("expected Key=Value, got '" + key + "'");
    }
    if (key.empty()) {
      return error(prev_value_empty ? "spaces around '=' are not allowed"
                                    : "missing key before '='");
    }
    ++i;  // '='
    // The value runs to the next blank outside quotes; quotes themselves are dropped.
    std::string value;
    bool quoted = false;
    while (i < text.size() && (quoted || !IsBlank(text[i]))) {
      if (text[i] == '"') {
        quoted = !quoted;
      } else {
        value += text[i];
      }
      ++i;
    }
    if (quoted) return error("unterminated quote in value of '" + key + "'");
    prev_value_empty = value.empty() && text[i - 1] == '=';
    line.pairs.emplace_back(std::move(key), std::move(value));
  }
}

}  // namespace

std::optional<std::string> ConfLine::Get(std::string_view key) const {
  // The last occurrence wins, like a later setting overriding an earlier one.
  for (auto it = pairs.rbegin(); it != pairs.rend(); ++it) {
    if (EqualsIgnoreCase(it->first, key)) return it->second;
  }
  return std::nullopt;
}

std::string ConfLine::Where() const { return file + ":" + std::to_string(line); }

Result<std::vector<ConfLine>> ParseSlurmConf(std::string_view text, std::string_view file_name) {
  std::vector<ConfLine> lines;
  std::string logical;
  int logical_start = 0;
  int number = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view physical = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++number;
    if (!physical.empty() && physical.back() == '\r') physical.remove_suffix(1);
    if (logical.empty()) logical_start = number;

    // Comments go first, so a comment ending in '\' does not continue the line.
    std::string content = StripComment(physical);
    std::string_view trimmed = content;
    while (!trimmed.empty() && IsBlank(trimmed.back())) trimmed.remove_suffix(1);
    // Continuations join without a space, as Slurm does ("Nodes=a,\" + "b" -> "Nodes=a,b").
    bool continued = !trimmed.empty() && trimmed.back() == '\\';
    if (continued) trimmed.remove_suffix(1);
    logical.append(trimmed);
    if (continued && pos < text.size()) continue;

    ConfLine line;
    line.file = std::string(file_name);
    line.line = logical_start;
    Status s = ParsePairs(logical, line);
    if (!s.ok()) return s;
    if (!line.pairs.empty()) lines.push_back(std::move(line));
    logical.clear();
  }
  return lines;
}

Result<std::vector<ConfLine>> ReadSlurmConf(const std::string& path) {
  auto io_error = [&](int err) {
    std::string msg = "cannot read '" + path + "': " + std::strerror(err);
    if (err == ENOENT) return NotFound(msg);
    if (err == EACCES) return Status(StatusCode::kPermissionDenied, msg);
    return Internal(msg);
  };
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error(errno);
  std::string text;
  char buf[65536];
  while (true) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return io_error(err);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return ParseSlurmConf(text, path);
}

}  // namespace shoal
