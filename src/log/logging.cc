#include "log/logging.h"

#include <spdlog/details/log_msg.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <ctime>

#include "api/json_string.h"
#include "common/strings.h"

namespace shoal {
namespace {

constexpr char kTextPattern[] = "[%Y-%m-%d %H:%M:%S.%e] [%l] %v";
constexpr char kColorPattern[] = "[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] %v";

// The job a message is about: its text starts "job ID" or "step ID" (ID as "12", "12_3",
// "12.0" or "12_3.0"), as every job and step line of the controller and agent does.
std::string_view JobIdOf(std::string_view msg) {
  for (std::string_view prefix : {"job ", "step "}) {
    if (msg.substr(0, prefix.size()) != prefix) continue;
    std::string_view rest = msg.substr(prefix.size());
    size_t n = 0;
    while (n < rest.size() && (std::isdigit(static_cast<unsigned char>(rest[n])) ||
                               ((rest[n] == '_' || rest[n] == '.') && n > 0))) {
      ++n;
    }
    while (n > 0 && !std::isdigit(static_cast<unsigned char>(rest[n - 1]))) --n;
    if (n > 0 && (n == rest.size() || !std::isalnum(static_cast<unsigned char>(rest[n])))) {
      return rest.substr(0, n);
    }
  }
  return {};
}

class JsonLogFormatter final : public spdlog::formatter {
 public:
  explicit JsonLogFormatter(std::string component) : component_(std::move(component)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using std::chrono::duration_cast;
    using std::chrono::milliseconds;
    const auto since_epoch = msg.time.time_since_epoch();
    const std::time_t seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count();
    const long millis = static_cast<long>(duration_cast<milliseconds>(since_epoch).count() % 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char when[48];
    size_t n = std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(when + n, sizeof when - n, ".%03ldZ", millis);

    const std::string_view text(msg.payload.data(), msg.payload.size());
    const spdlog::string_view_t level = spdlog::level::to_string_view(msg.level);
    line_.clear();
    line_ += "{\"time\":\"";
    line_ += when;
    line_ += "\",\"level\":\"";
    line_.append(level.data(), level.size());
    line_ += "\",\"component\":";
    AppendJsonString(component_, &line_);
    if (std::string_view job = JobIdOf(text); !job.empty()) {
      line_ += ",\"job\":";
      AppendJsonString(job, &line_);
    }
    line_ += ",\"msg\":";
    AppendJsonString(text, &line_);
    line_ += "}\n";
    dest.append(line_.data(), line_.data() + line_.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonLogFormatter>(component_);
  }

 private:
  std::string component_;
  std::string line_;
};

}  // namespace

Result<spdlog::level::level_enum> ParseLogLevel(std::string_view text) {
  using spdlog::level::level_enum;
  static const std::pair<std::string_view, level_enum> kLevels[] = {
      {"quiet", level_enum::off},      {"off", level_enum::off},
      {"fatal", level_enum::critical}, {"critical", level_enum::critical},
      {"error", level_enum::err},      {"warning", level_enum::warn},
      {"warn", level_enum::warn},      {"info", level_enum::info},
      {"verbose", level_enum::debug},  {"debug", level_enum::debug},
      {"debug2", level_enum::trace},   {"debug3", level_enum::trace},
      {"debug4", level_enum::trace},   {"debug5", level_enum::trace},
      {"trace", level_enum::trace},
  };
  for (const auto& [name, level] : kLevels) {
    if (EqualsIgnoreCase(text, name)) return level;
  }
  return InvalidArgument(
      "invalid log level '" + std::string(text) +
      "' (expected quiet, fatal, error, warning, info, verbose, debug, debug2-debug5 or trace)");
}

Result<LogFormat> ParseLogFormat(std::string_view text) {
  if (EqualsIgnoreCase(text, "text")) return LogFormat::kText;
  if (EqualsIgnoreCase(text, "json")) return LogFormat::kJson;
  return InvalidArgument("invalid log format '" + std::string(text) +
                                 "' (expected text or json)");
}

Result<uint64_t> ParseLogSize(std::string_view text) {
  auto bad = [&] {
    return InvalidArgument("invalid log size '" + std::string(text) +
                                   "' (expected a number of bytes with an optional K, M or G)");
  };
  if (text.empty()) return bad();
  int shift = 0;
  switch (std::toupper(static_cast<unsigned char>(text.back()))) {
    case 'K': shift = 10; break;
    case 'M': shift = 20; break;
    case 'G': shift = 30; break;
    default: break;
  }
  std::string_view digits = shift > 0 ? text.substr(0, text.size() - 1) : text;
  std::optional<uint64_t> value = ParseUint(digits);
  if (!value || *value > (UINT64_MAX >> shift)) return bad();
  return *value << shift;
}

std::unique_ptr<spdlog::formatter> MakeJsonLogFormatter(std::string component) {
  return std::make_unique<JsonLogFormatter>(std::move(component));
}

Status InstallLogger(const LogOptions& options) {
  spdlog::sink_ptr sink;
  try {
    if (options.file.empty()) {
      sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    } else if (options.max_bytes > 0) {
      sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
          options.file, options.max_bytes, options.max_files);
    } else {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file);
    }
  } catch (const spdlog::spdlog_ex& e) {
    return InvalidArgument("cannot log to " + options.file + ": " + e.what());
  }
  auto logger = std::make_shared<spdlog::logger>(options.component, std::move(sink));
  if (options.format == LogFormat::kJson) {
    logger->set_formatter(MakeJsonLogFormatter(options.component));
  } else {
    logger->set_pattern(options.file.empty() ? kColorPattern : kTextPattern);
  }
  logger->set_level(options.level);
  // A line is on disk when it is written: logs are read most when a daemon has just died.
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
  return Status::Ok();
}

bool LogThrottle::Log(spdlog::level::level_enum level, std::string_view key,
                      std::string_view message, Clock::time_point now) {
  uint64_t held_back = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (keys_.size() >= kMaxKeys && now >= pruned_ + interval_) {
      // Forget the keys whose interval is over (their next line would be logged anyway).
      pruned_ = now;
      std::erase_if(keys_, [&](const auto& entry) {
        return entry.second.next <= now && entry.second.held_back == 0;
      });
    }
    auto it = keys_.find(std::string(key));
    if (it == keys_.end()) {
      it = keys_.try_emplace(keys_.size() < kMaxKeys ? std::string(key) : std::string()).first;
    }
    Key& k = it->second;
    if (now < k.next) {
      ++k.held_back;
      return false;
    }
    k.next = now + interval_;
    held_back = k.held_back;
    k.held_back = 0;
  }
  if (held_back == 0) {
    spdlog::log(level, "{}", message);
  } else {
    spdlog::log(level, "{} ({} more like it held back)", message, held_back);
  }
  return true;
}

}  // namespace shoal
