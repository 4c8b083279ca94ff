// A small Prometheus client: counters, gauges and histograms in labelled families, rendered in
// the text exposition format (version 0.0.4). Debian 12 has no prometheus-cpp package, and what
// shoal needs fits in a few hundred lines.
//
// Thread-safe: a series' value is an atomic, so updating one takes no lock; creating a series
// (Family::Labels) and rendering take the family's mutex. A reference returned by Labels() stays
// valid for the registry's life, so hot paths look a series up once and keep it.
//
// Values that are cheaper to compute when scraped (a count over a snapshot) come from
// collectors: callbacks that write whole families through an ExpositionWriter.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shoal::metrics {

enum class MetricType { kCounter, kGauge, kHistogram };

// Label name/value pairs of one sample, in the order written.
using LabelPairs = std::vector<std::pair<std::string, std::string>>;

// [a-zA-Z_:][a-zA-Z0-9_:]*, as the exposition format requires.
bool ValidMetricName(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved for Prometheus itself).
bool ValidLabelName(std::string_view name);
// Label values escape backslash, double quote and newline; HELP text backslash and newline.
std::string EscapeLabelValue(std::string_view value);
std::string EscapeHelp(std::string_view help);
// Shortest text that reads back as the same double; "+Inf", "-Inf", "NaN"; integers without
// an exponent up to 2^53.
std::string FormatValue(double value);

// Writes families and samples in exposition order: HELP and TYPE once, then the samples.
class ExpositionWriter {
 public:
  void Family(std::string_view name, std::string_view help, MetricType type);
  // `name` is the family name plus any suffix (_bucket, _sum, _count).
  void Sample(std::string_view name, const LabelPairs& labels, double value);
  const std::string& text() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// A monotonically increasing value (resets only when the process restarts).
class Counter {
 public:
  // `delta` must be >= 0; negative values are ignored (a counter never goes down).
  void Inc(double delta = 1);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Inc(double delta = 1);
  void Dec(double delta = 1) { Inc(-delta); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Cumulative buckets by upper bound (ascending, finite; +Inf is implied).
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    uint64_t count = 0;
    double sum = 0;
  };
  Snapshot Collect() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bucket (not cumulative), +Inf last
  std::atomic<double> sum_{0};
};

// Bucket bounds start, start*factor, ... (count of them).
std::vector<double> ExponentialBuckets(double start, double factor, int count);

// The series of one metric, one per combination of label values.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
  virtual ~FamilyBase() = default;
  virtual void Render(ExpositionWriter& out) const = 0;
  const std::string& name() const { return name_; }

 protected:
  LabelPairs Pairs(const std::vector<std::string>& values) const;

  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
};

template <typename T>
class Family : public FamilyBase {
 public:
  using Factory = std::function<std::unique_ptr<T>()>;
  Family(std::string name, std::string help, std::vector<std::string> label_names, Factory factory)
      : FamilyBase(std::move(name), std::move(help), std::move(label_names)),
        factory_(std::move(factory)) {}

  // The series with these label values (as many as the family has label names; missing ones
  // are empty, extra ones ignored), created at zero on first use.
  T& Labels(std::vector<std::string> values = {}) {
    values.resize(label_names_.size());
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = series_[std::move(values)];
    if (!slot) slot = factory_();
    return *slot;
  }

  void Render(ExpositionWriter& out) const override;

 private:
  Factory factory_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> series_;
};

class Registry {
 public:
  using Collector = std::function<void(ExpositionWriter&)>;

  // Names and label names must be valid and a name registered once; a mistake there is a
  // programming error and aborts (it would otherwise only show as a scrape Prometheus rejects).
  Family<Counter>& AddCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names = {});
  Family<Histogram>& AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names,
                                  std::vector<double> upper_bounds);
  // Called on every Render(), after the registered families, from the rendering thread.
  void AddCollector(Collector collector);

  // The whole exposition: families in registration order, then the collectors' output.
  std::string Render() const;

 private:
  void CheckNew(const std::string& name, const std::vector<std::string>& label_names);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<FamilyBase>> families_;
  std::vector<Collector> collectors_;
};

// The content type of the text exposition format.
inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace shoal::metrics

namespace shoal::metrics {
template <>
void Family<Counter>::Render(ExpositionWriter& out) const;
template <>
void Family<Gauge>::Render(ExpositionWriter& out) const;
template <>
void Family<Histogram>::Render(ExpositionWriter& out) const;
}  // namespace shoal::metrics
