// The `prometheus-scrape` source: reads /metrics endpoints in the text exposition format
// directly, without a Prometheus server.
//
// Endpoints: the source's `urls` (one sample per URL; `instance` is the URL's host:port when there
// are several URLs, empty for a single one), or with `per_instance: true` every endpoint given to
// read() (the group's instances), scraped in parallel at http://ADDRESS + `path`, with
// `instance` = the endpoint's id. An endpoint that fails or lacks the metric gives no sample;
// only when no endpoint answers is the read an error.
//
// Sharing: one scrape of a URL serves every query (of any group) that reads the URL within
// `cache_window` (1s) of the scrape's start; concurrent reads of a URL wait for one scrape.
//
// A query picks series by `name` and `labels` (exact values; a label required to be "" matches
// series without it) and combines the series of one endpoint with `aggregate` (sum by default).
// With `rate: true` each series' per-second increase between the endpoint's last two scrapes is
// used (a decrease is a counter reset, as in Prometheus); the first scrape has no rate yet.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "sources/prometheus_scrape/exposition.hpp"
#include "sources/registry.hpp"
#include "sources/source.hpp"

namespace tide {

Result<std::unique_ptr<Source>> make_prometheus_scrape_source(const SourceSpec& spec);

// ---- the query evaluation, exposed for tests ----
enum class Aggregate { kSum, kAvg, kMin, kMax, kCount };

struct ScrapeQuery {
  std::string name;
  Labels labels;
  bool rate = false;
  Aggregate aggregate = Aggregate::kSum;
};

struct ScrapeSnapshot {
  Exposition data;
  TimePoint at;  // when the scrape was made (series without their own timestamp)
};

struct ScrapeValue {
  double value = 0;
  TimePoint at;
};

// The query's value on one endpoint: `cur` is the last scrape, `prev` the one before (may be null).
// nullopt: no matching series (or, for a rate, no series present in both scrapes). `matched`
// tells whether any series matched in `cur`.
std::optional<ScrapeValue> evaluate_scrape(const ScrapeQuery& q, const ScrapeSnapshot& cur,
                                           const ScrapeSnapshot* prev, bool* matched = nullptr);

}  // namespace tide
