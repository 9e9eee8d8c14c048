// Compile benchmark: sources -> bundle. Writes the synthetic policy of N rules as
// Kubernetes NetworkPolicy YAML, runs `moat build -o DIR FILE` as a child process and
// reports wall time and the child's peak resident memory (wait4 rusage maxrss), median of
// --runs. Also times the node-side work for the same policy: computing the map contents
// (identities, ipcache, resolved policy entries) in process.
//   bench_compile --moat PATH/moat [--rules 10000,100000] [--runs 3]
//   bench_compile --emit yaml --rules 10000 > policy.yaml    (the source alone)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/bundle/map_contents.h"
#include "synthetic.h"

using namespace moat;
namespace fs = std::filesystem;

namespace {

struct Sample {
  double seconds = 0;
  long maxrss_kib = 0;
  int status = 0;
};

Sample run_child(const std::vector<std::string>& argv) {
  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  struct rusage ru = {};
  wait4(pid, &status, 0, &ru);
  Sample s;
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  s.maxrss_kib = ru.ru_maxrss;
  s.status = status;
  return s;
}

} // namespace

int main(int argc, char** argv) {
  std::string moat;
  std::vector<size_t> rules = {10000, 100000};
  int runs = 3;
  std::string emit;  // --emit moat|yaml: print the source for the first --rules size, nothing else
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--moat") moat = next();
    else if (a == "--runs") runs = std::stoi(next());
    else if (a == "--emit") emit = next();
    else if (a == "--rules") {
      rules.clear();
      std::stringstream ss(next());
      for (std::string t; std::getline(ss, t, ',');) rules.push_back(std::stoul(t));
    } else {
      std::fprintf(stderr, "usage: bench_compile --moat PATH [--rules 10000,100000] [--runs N]\n"
                           "       bench_compile --emit moat|yaml --rules N > FILE\n");
      return 2;
    }
  }
  if (!emit.empty() && !rules.empty()) {
    std::fputs((emit == "yaml" ? moat::bench::synthetic_yaml(rules[0]) : moat::bench::synthetic_moat(rules[0])).c_str(),
               stdout);
    return 0;
  }
  if (moat.empty()) {
    std::fprintf(stderr, "bench_compile: --moat PATH is required\n");
    return 2;
  }
  fs::path dir = fs::temp_directory_path() / ("moat-bench-compile-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::printf("| rules | source | size | moat build (median of %d) | peak RSS | map contents on a node |\n", runs);
  std::printf("|---:|---|---:|---:|---:|---:|\n");
  for (size_t n : rules)
    for (const char* format : {"moat", "yaml"}) {
    fs::path src = dir / ("policy-" + std::to_string(n) + "." + format);
    std::ofstream(src) << (std::string(format) == "yaml" ? moat::bench::synthetic_yaml(n) : moat::bench::synthetic_moat(n));
    std::vector<Sample> samples;
    for (int r = 0; r < runs; ++r) {
      Sample s = run_child({moat, "build", "-q", "-o", (dir / "bundle").string(), src.string()});
      if (!WIFEXITED(s.status) || WEXITSTATUS(s.status) != 0) {
        std::fprintf(stderr, "bench_compile: moat build failed for %zu rules\n", n);
        return 3;
      }
      samples.push_back(s);
    }
    std::sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) { return a.seconds < b.seconds; });
    long rss = 0;
    for (const Sample& s : samples) rss = std::max(rss, s.maxrss_kib);
    // The node side: identities + resolved entries for the same policy, one local workload.
    Module m = moat::bench::synthetic_policy(n);
    auto start = std::chrono::steady_clock::now();
    bundle::IdentityAllocator ids;
    bundle::MapContents c = bundle::compute_map_contents(m, {moat::bench::synthetic_web()}, {{0, 1, 0}}, ids);
    double contents_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("| %zu | %s | %.1f MiB | %.2f s | %.0f MiB | %.2f s (%zu entries) |\n", n,
                std::string(format) == "yaml" ? "NetworkPolicy YAML" : "moat language",
                static_cast<double>(fs::file_size(src)) / (1 << 20), samples[samples.size() / 2].seconds,
                static_cast<double>(rss) / 1024, contents_s, c.policy.size() + c.policy_exact.size());
    std::fflush(stdout);
    }
  fs::remove_all(dir);
  return 0;
}
