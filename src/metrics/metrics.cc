#include "metrics/metrics.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace shoal::metrics {
namespace {

bool NameChar(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

const char* TypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// Adds to an atomic double (fetch_add on floating atomics is C++20; a CAS loop works on every
// compiler and is as fast uncontended).
void AtomicAdd(std::atomic<double>& a, double delta) {
  double old = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(old, old + delta, std::memory_order_relaxed)) {
  }
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "metrics: %s\n", what.c_str());
  std::abort();
}

}  // namespace

bool ValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!NameChar(name[i], i == 0, true)) return false;
  }
  return true;
}

bool ValidLabelName(std::string_view name) {
  if (name.empty() || name.substr(0, 2) == "__") return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!NameChar(name[i], i == 0, false)) return false;
  }
  return true;
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Counts are the common case: print them as integers, never as 1e+06.
  if (v == std::floor(v) && std::fabs(v) <= 9007199254740992.0) {
    return std::to_string(static_cast<int64_t>(v));
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

void ExpositionWriter::Family(std::string_view name, std::string_view help, MetricType type) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += EscapeHelp(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += TypeName(type);
  out_ += '\n';
}

void ExpositionWriter::Sample(std::string_view name, const LabelPairs& labels, double value) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) out_ += ',';
      out_ += labels[i].first;
      out_ += "=\"";
      out_ += EscapeLabelValue(labels[i].second);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  out_ += FormatValue(value);
  out_ += '\n';
}

void Counter::Inc(double delta) {
  if (!(delta >= 0)) return;  // also drops NaN
  AtomicAdd(value_, delta);
}

void Gauge::Inc(double delta) { AtomicAdd(value_, delta); }

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
      Die("histogram bounds must be finite and strictly ascending");
    }
  }
  buckets_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double value) {
  // A value equal to a bound belongs in that bound's bucket (le: less than or equal).
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, value);
}

Histogram::Snapshot Histogram::Collect() const {
  Snapshot s;
  s.cumulative.resize(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  // The count is the +Inf bucket, so the two always agree within one scrape.
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> out;
  double v = start;
  for (int i = 0; i < count; ++i, v *= factor) out.push_back(v);
  return out;
}

LabelPairs FamilyBase::Pairs(const std::vector<std::string>& values) const {
  LabelPairs out;
  out.reserve(label_names_.size() + 1);
  for (size_t i = 0; i < label_names_.size(); ++i) out.emplace_back(label_names_[i], values[i]);
  return out;
}

template <>
void Family<Counter>::Render(ExpositionWriter& out) const {
  out.Family(name_, help_, MetricType::kCounter);
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [values, c] : series_) out.Sample(name_, Pairs(values), c->Value());
}

template <>
void Family<Gauge>::Render(ExpositionWriter& out) const {
  out.Family(name_, help_, MetricType::kGauge);
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [values, g] : series_) out.Sample(name_, Pairs(values), g->Value());
}

template <>
void Family<Histogram>::Render(ExpositionWriter& out) const {
  out.Family(name_, help_, MetricType::kHistogram);
  std::lock_guard<std::mutex> lock(mu_);
  const std::string bucket = name_ + "_bucket";
  for (const auto& [values, h] : series_) {
    Histogram::Snapshot s = h->Collect();
    LabelPairs labels = Pairs(values);
    labels.emplace_back("le", "");
    for (size_t i = 0; i < s.cumulative.size(); ++i) {
      labels.back().second = i < h->bounds().size() ? FormatValue(h->bounds()[i]) : "+Inf";
      out.Sample(bucket, labels, static_cast<double>(s.cumulative[i]));
    }
    labels.pop_back();
    out.Sample(name_ + "_sum", labels, s.sum);
    out.Sample(name_ + "_count", labels, static_cast<double>(s.count));
  }
}

void Registry::CheckNew(const std::string& name, const std::vector<std::string>& label_names) {
  if (!ValidMetricName(name)) Die("invalid metric name '" + name + "'");
  for (const auto& l : label_names) {
    if (!ValidLabelName(l)) Die("invalid label name '" + l + "' of " + name);
  }
  for (const auto& f : families_) {
    if (f->name() == name) Die("metric " + name + " registered twice");
  }
}

Family<Counter>& Registry::AddCounter(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  CheckNew(name, label_names);
  auto f = std::make_unique<Family<Counter>>(name, help, std::move(label_names),
                                             [] { return std::make_unique<Counter>(); });
  auto& ref = *f;
  families_.push_back(std::move(f));
  return ref;
}

Family<Gauge>& Registry::AddGauge(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  CheckNew(name, label_names);
  auto f = std::make_unique<Family<Gauge>>(name, help, std::move(label_names),
                                           [] { return std::make_unique<Gauge>(); });
  auto& ref = *f;
  families_.push_back(std::move(f));
  return ref;
}

Family<Histogram>& Registry::AddHistogram(const std::string& name, const std::string& help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> upper_bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  CheckNew(name, label_names);
  for (const auto& l : label_names) {
    if (l == "le") Die("histogram " + name + " may not have a label named le");
  }
  Histogram probe(upper_bounds);  // dies here, at registration, on bad bounds
  auto f = std::make_unique<Family<Histogram>>(
      name, help, std::move(label_names),
      [bounds = std::move(upper_bounds)] { return std::make_unique<Histogram>(bounds); });
  auto& ref = *f;
  families_.push_back(std::move(f));
  return ref;
}

void Registry::AddCollector(Collector collector) {
  std::lock_guard<std::mutex> lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string Registry::Render() const {
  ExpositionWriter out;
  std::vector<Collector> collectors;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& f : families_) f->Render(out);
    collectors = collectors_;
  }
  // Outside the registry's lock: a collector may take its owner's locks.
  for (const auto& c : collectors) c(out);
  return out.Take();
}

}  // namespace shoal::metrics
