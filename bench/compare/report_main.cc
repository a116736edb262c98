// bench_report: turns the side-by-side benchmark's CSV files into the
// report: a Markdown table (ops/s and p50/p99/p99.9 per system, workload
// and concurrency, with the synod/ZooKeeper ratios), the physical floor,
// the big-tree figures, the targets and whether each is met, and the data
// and gnuplot script of the chart.
//
//   bench_report --results=results.csv [--floor=floor.csv]
//                [--bigtree=bigtree.csv] --out=DIR
//
// results.csv: load_main.h's rows (system,workload,in_flight,...).
// floor.csv:   name,p50_us,p99_us (bench_floor).
// bigtree.csv: system,metric,value (memory_bytes_per_znode, restart_seconds,
//              catchup_seconds, populate_seconds, ...).
// Writes DIR/report.md, DIR/chart.dat, DIR/chart.gp (gnuplot renders
// DIR/chart.png from it: `gnuplot DIR/chart.gp`).

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace {

constexpr char kZooKeeper[] = "zookeeper";

struct Row {
  std::string system, workload;
  int in_flight = 0, sessions = 0;
  double ops = 0, ops_per_sec = 0, p50 = 0, p99 = 0, p999 = 0;
};

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "bench_report: %s\n", what.c_str());
  std::exit(1);
}

// Reads a CSV file with a header line into rows of named fields.
std::vector<std::map<std::string, std::string>> ReadCsv(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) Die("cannot read " + path);
  std::string line;
  std::vector<std::string> header;
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> fields = absl::StrSplit(line, ',');
    if (header.empty() || fields == header) {
      header = fields;
      continue;
    }
    if (fields.size() != header.size()) {
      Die(absl::StrCat(path, ": a line with ", fields.size(),
                       " fields, the header has ", header.size(), ": ", line));
    }
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < header.size(); ++i) row[header[i]] = fields[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

double Number(const std::map<std::string, std::string>& row,
              const std::string& name) {
  auto it = row.find(name);
  double v = 0;
  if (it == row.end() || !absl::SimpleAtod(it->second, &v)) {
    Die(absl::StrCat("missing or bad field '", name, "'"));
  }
  return v;
}

std::string Fmt(double v) {
  if (v >= 100000) return absl::StrFormat("%.0fk", v / 1000);
  if (v >= 1000) return absl::StrFormat("%.0f", v);
  if (v >= 10) return absl::StrFormat("%.1f", v);
  return absl::StrFormat("%.2f", v);
}

std::string Ratio(double a, double b) {
  if (b <= 0) return "";
  const double r = a / b;
  return r >= 10 ? absl::StrFormat("%.0fx", r) : absl::StrFormat("%.2fx", r);
}

}  // namespace

int main(int argc, char** argv) {
  std::string results, floor, bigtree, out;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto take = [&](const char* name, std::string* to) {
      const std::string prefix = absl::StrCat("--", name, "=");
      if (arg.rfind(prefix, 0) != 0) return false;
      *to = arg.substr(prefix.size());
      return true;
    };
    if (!take("results", &results) && !take("floor", &floor) &&
        !take("bigtree", &bigtree) && !take("out", &out)) {
      Die("usage: bench_report --results=CSV [--floor=CSV] [--bigtree=CSV] "
          "--out=DIR");
    }
  }
  if (results.empty() || out.empty()) Die("--results and --out are required");

  std::vector<Row> rows;
  std::vector<std::string> systems;  // in order of appearance
  for (const auto& r : ReadCsv(results)) {
    Row row;
    row.system = r.at("system");
    row.workload = r.at("workload");
    row.in_flight = static_cast<int>(Number(r, "in_flight"));
    row.sessions = static_cast<int>(Number(r, "sessions"));
    row.ops = Number(r, "ops");
    row.ops_per_sec = Number(r, "ops_per_sec");
    row.p50 = Number(r, "p50_us");
    row.p99 = Number(r, "p99_us");
    row.p999 = Number(r, "p999_us");
    if (std::find(systems.begin(), systems.end(), row.system) ==
        systems.end()) {
      systems.push_back(row.system);
    }
    rows.push_back(row);
  }
  if (rows.empty()) Die(results + " has no rows");
  auto find = [&](const std::string& system, const std::string& workload,
                  int in_flight) -> const Row* {
    for (const Row& r : rows) {
      if (r.system == system && r.workload == workload &&
          r.in_flight == in_flight) {
        return &r;
      }
    }
    return nullptr;
  };

  std::ostringstream md;
  md << "| workload | in flight | system | ops/s | p50 µs | p99 µs | p99.9 µs "
        "| ops/s vs ZooKeeper | p99 vs ZooKeeper |\n"
     << "|---|---|---|---:|---:|---:|---:|---:|---:|\n";
  std::vector<std::pair<std::string, int>> keys;  // workload, in_flight
  for (const Row& r : rows) {
    std::pair<std::string, int> k{r.workload, r.in_flight};
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) {
      keys.push_back(k);
    }
  }
  for (const auto& [workload, in_flight] : keys) {
    const Row* zk = find(kZooKeeper, workload, in_flight);
    for (const std::string& system : systems) {
      const Row* r = find(system, workload, in_flight);
      if (r == nullptr) continue;
      const bool other = zk != nullptr && system != kZooKeeper;
      md << absl::StrFormat(
          "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", workload,
          in_flight, system, Fmt(r->ops_per_sec), Fmt(r->p50), Fmt(r->p99),
          Fmt(r->p999), other ? Ratio(r->ops_per_sec, zk->ops_per_sec) : "",
          other ? Ratio(r->p99, zk->p99) : "");
    }
  }

  if (!floor.empty()) {
    md << "\nThe physical floor on this machine:\n\n"
       << "| what | p50 µs | p99 µs |\n|---|---:|---:|\n";
    for (const auto& r : ReadCsv(floor)) {
      const std::string& name = r.at("name");
      md << absl::StrFormat(
          "| %s | %s | %s |\n",
          name == "fsync"          ? "1 KiB append + fdatasync"
          : name == "loopback_rtt" ? "loopback TCP round trip"
          : name == "thread_handoff_rtt"
              ? "round trip between two threads (mutex + condition "
                "variable)"
              : name,
          Fmt(Number(r, "p50_us")), Fmt(Number(r, "p99_us")));
    }
  }

  std::map<std::string, std::map<std::string, double>> big;  // metric->sys
  if (!bigtree.empty()) {
    for (const auto& r : ReadCsv(bigtree)) {
      big[r.at("metric")][r.at("system")] = Number(r, "value");
    }
    md << "\nThe big tree:\n\n| metric | zookeeper | synod | synod vs "
          "ZooKeeper |\n|---|---:|---:|---:|\n";
    for (const auto& [metric, by] : big) {
      auto z = by.find(kZooKeeper);
      auto s = by.find("synod");
      md << absl::StrFormat(
          "| %s | %s | %s | %s |\n", metric,
          z == by.end() ? "" : Fmt(z->second),
          s == by.end() ? "" : Fmt(s->second),
          z != by.end() && s != by.end() ? Ratio(s->second, z->second) : "");
    }
  }

  // The targets (issue 18's), against the embedded synod rows unless
  // they name the remote paths.
  const std::string embedded = "synod-embedded";
  md << "\nTargets (synod vs ZooKeeper, this run; embedded unless named):\n\n"
     << "| target | measured | met |\n|---|---|---|\n";
  int short_of = 0;
  auto target = [&](const std::string& what, std::optional<double> ratio,
                    double want, bool at_least) {
    if (!ratio) {
      md << absl::StrFormat("| %s | not measured | |\n", what);
      return;
    }
    const bool met = at_least ? *ratio >= want : *ratio <= want;
    if (!met) ++short_of;
    md << absl::StrFormat("| %s | %.2fx | %s |\n", what, *ratio,
                          met ? "yes" : "**no**");
  };
  int throughput_window = 0;
  for (const Row& r : rows) throughput_window = std::max(throughput_window, r.in_flight);
  // `system`'s ops/s, p99 or p99.9 over ZooKeeper's, in one row.
  enum class Of { kOps, kP99, kP999 };
  auto vs_zk = [&](const std::string& system, const char* workload,
                   int in_flight, Of of) -> std::optional<double> {
    const Row* s = find(system, workload, in_flight);
    const Row* z = find(kZooKeeper, workload, in_flight);
    if (s == nullptr || z == nullptr) return std::nullopt;
    switch (of) {
      case Of::kOps: return s->ops_per_sec / z->ops_per_sec;
      case Of::kP99: return s->p99 / z->p99;
      case Of::kP999: return s->p999 / z->p999;
    }
    return std::nullopt;
  };
  target(absl::StrFormat("multi throughput at %d in flight >= 2x",
                         throughput_window),
         vs_zk(embedded, "multi", throughput_window, Of::kOps), 2.0, true);
  target("multi p99 at 1 in flight <= 1x", vs_zk(embedded, "multi", 1, Of::kP99),
         1.0, false);
  for (const char* w : {"create", "set"}) {
    target(absl::StrFormat("%s throughput at %d in flight >= 3x", w,
                           throughput_window),
           vs_zk(embedded, w, throughput_window, Of::kOps), 3.0, true);
  }
  // The floor of a write at 1 in flight: one fdatasync and two loopback
  // round trips (the follower to the leader and back, the leader's
  // proposal to a follower and its ack), medians of this run.
  std::optional<double> write_floor;
  if (!floor.empty()) {
    double fsync = -1, rtt = -1;
    for (const auto& r : ReadCsv(floor)) {
      if (r.at("name") == "fsync") fsync = Number(r, "p50_us");
      if (r.at("name") == "loopback_rtt") rtt = Number(r, "p50_us");
    }
    if (fsync > 0 && rtt > 0) write_floor = fsync + 2 * rtt;
  }
  for (const char* w : {"create", "set"}) {
    const Row* s = find(embedded, w, 1);
    target(absl::StrFormat("%s p50 at 1 in flight <= 1.5x the floor "
                           "(fdatasync + 2 loopback RTTs)", w),
           s && write_floor ? std::optional<double>(s->p50 / *write_floor)
                            : std::nullopt,
           1.5, false);
  }
  for (const char* w : {"create", "set", "multi"}) {
    for (int in_flight : {1, throughput_window}) {
      target(absl::StrFormat("%s p99.9 at %d in flight <= 1x", w, in_flight),
             vs_zk(embedded, w, in_flight, Of::kP999), 1.0, false);
    }
  }
  target("get throughput >= 50x",
         vs_zk(embedded, "get", throughput_window, Of::kOps), 50.0, true);
  // Big-tree ratios, synod over ZooKeeper.
  auto big_ratio = [&](const char* metric) -> std::optional<double> {
    auto it = big.find(metric);
    if (it == big.end() || !it->second.count(kZooKeeper) ||
        !it->second.count("synod") || it->second.at(kZooKeeper) <= 0 ||
        it->second.at("synod") <= 0) {
      return std::nullopt;
    }
    return it->second.at("synod") / it->second.at(kZooKeeper);
  };
  target("memory per znode (RSS growth of a follower) <= 1/3 (0.33x)",
         big_ratio("rss_bytes_per_znode"), 1.0 / 3, false);
  auto speedup = [&](const char* metric) -> std::optional<double> {
    std::optional<double> r = big_ratio(metric);
    if (!r) return std::nullopt;
    return 1 / *r;
  };
  target("restart with the big tree >= 3x faster", speedup("restart_seconds"),
         3.0, true);
  target("wiped follower catching up the big tree >= 2x faster",
         speedup("catchup_seconds"), 2.0, true);
  target("the leader's write p99 during a catch-up <= 2x its idle p99",
         std::nullopt, 2.0, false);
  // The remote paths: synod's client service, and its ZooKeeper port
  // driven by ZooKeeper's own C client.
  for (const char* remote : {"synod-remote", "synod-zk"}) {
    for (const char* w : {"create", "set"}) {
      target(absl::StrFormat("%s: %s throughput at %d in flight >= 2x", remote,
                             w, throughput_window),
             vs_zk(remote, w, throughput_window, Of::kOps), 2.0, true);
    }
    target(absl::StrFormat("%s: get throughput at %d in flight >= 5x", remote,
                           throughput_window),
           vs_zk(remote, "get", throughput_window, Of::kOps), 5.0, true);
  }

  std::ofstream report(out + "/report.md");
  report << md.str();
  if (!report) Die("cannot write " + out + "/report.md");

  // The chart: throughput at the largest window and p99 at 1 in flight, per
  // workload (clusters) and system (bars), on log scales.
  std::ofstream dat(out + "/chart.dat");
  dat << "# workload";
  for (const std::string& s : systems) dat << " " << s << "_ops " << s << "_p99";
  dat << "\n";
  std::vector<std::string> workloads;
  for (const auto& k : keys) {
    if (std::find(workloads.begin(), workloads.end(), k.first) ==
        workloads.end()) {
      workloads.push_back(k.first);
    }
  }
  for (const std::string& w : workloads) {
    dat << w;
    for (const std::string& s : systems) {
      const Row* t = find(s, w, throughput_window);
      const Row* l = find(s, w, 1);
      dat << " " << (t ? t->ops_per_sec : NAN) << " " << (l ? l->p99 : NAN);
    }
    dat << "\n";
  }
  std::ofstream gp(out + "/chart.gp");
  gp << "set terminal pngcairo size 1400,560 font 'sans,11'\n"
     << "set output '" << out << "/chart.png'\n"
     << "set datafile missing 'nan'\n"
     << "set style data histograms\nset style histogram clustered gap 1\n"
     << "set style fill solid 0.85 border -1\nset boxwidth 0.9\n"
     << "set logscale y\nset grid ytics\nset key below horizontal\n"
     << "set multiplot layout 1,2 title 'synod vs ZooKeeper 3.8, three "
        "servers on loopback, 1 KiB values'\n"
     << "set title 'throughput at " << throughput_window
     << " in flight (ops/s, higher is better)'\n"
     << "plot ";
  for (size_t i = 0; i < systems.size(); ++i) {
    gp << (i ? ", " : "") << "'" << out << "/chart.dat' using "
       << 2 + 2 * i << ":xtic(1) title '" << systems[i] << "'";
  }
  gp << "\nset title 'p99 latency at 1 in flight (µs, lower is better)'\n"
     << "plot ";
  for (size_t i = 0; i < systems.size(); ++i) {
    gp << (i ? ", " : "") << "'" << out << "/chart.dat' using "
       << 3 + 2 * i << ":xtic(1) title '" << systems[i] << "'";
  }
  gp << "\nunset multiplot\n";
  if (!dat || !gp) Die("cannot write the chart files in " + out);

  std::fputs(md.str().c_str(), stdout);
  std::printf("\n%d target(s) not met\n", short_of);
  return 0;
}
