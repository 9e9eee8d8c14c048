// Verifier benchmark (goals in docs/BENCHMARKS.md): generated policies of 100, 1k, 10k and 100k rules; wall
// time and peak memory of an isolation proof, a confinement proof, and the semantic diff
// of two versions that differ in one rule. Each measurement runs in its own child process
// so that its peak RSS (ru_maxrss, which includes the generated policy) is its own.
// `--fqdn` compares the two FQDN encodings: the exact partition (fqdn_partition.h) and the
// Z3 string/regex enumeration (fqdn_strings.h), on the FQDN matches of generated policies.
//
// `--lints` times the solver lints `moat check` runs on the same policies.
//
//   build-d/bench/verify/bench_verify [--sizes 100,1000,10000,100000] [--fqdn | --lints]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench/verify/gen_policy.h"
#include "verifier/fqdn_partition.h"
#include "verifier/fqdn_strings.h"
#include "verifier/verifier.h"

using namespace moat;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// Runs `task` in a child; returns its one-line report and peak RSS in MiB.
std::pair<std::string, double> in_child(const std::function<std::string()>& task) {
  int fds[2];
  if (pipe(fds) != 0) return {"pipe failed", 0};
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    std::string line = task();
    if (write(fds[1], line.data(), line.size()) < 0) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  struct rusage ru {};
  wait4(pid, &status, 0, &ru);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) out += " (child failed)";
  return {out, ru.ru_maxrss / 1024.0};
}

std::string prove_task(size_t rules, Prove (*proof)()) {
  Module m = bench::generate_policy(rules);
  m.proofs.push_back(proof());
  auto t0 = Clock::now();
  ProofReport r = run_proofs(m, VerifyOptions{});
  double s = since(t0);
  if (!r.internal_error.empty()) return "internal error: " + r.internal_error;
  return fmt::format("{:.3f} s, {}", s, to_string(r.results[0].status));
}

std::string diff_task(size_t rules) {
  Module a = bench::generate_policy(rules);
  Module b = bench::change_one_rule(a);
  auto t0 = Clock::now();
  DiffReport r = semantic_diff(a, b, VerifyOptions{});
  double s = since(t0);
  if (!r.internal_error.empty()) return "internal error: " + r.internal_error;
  size_t plus = 0, minus = 0;
  for (const DiffCube& c : r.cubes) (c.newly_allowed ? plus : minus)++;
  std::string first = r.cubes.empty() ? "" : " e.g. " + r.cubes[0].src + " -> " + r.cubes[0].dst + " on " + r.cubes[0].ports;
  return fmt::format("{:.3f} s, {}, +{} -{} cubes{}", s, to_string(r.status), plus, minus, first);
}

std::string lint_task(size_t rules) {
  Module m = bench::generate_policy(rules);
  Diagnostics d;
  auto t0 = Clock::now();
  std::string err = run_solver_lints(m, VerifyOptions{}, d);
  double s = since(t0);
  if (!err.empty()) return "internal error: " + err;
  return fmt::format("{:.3f} s, {} finding(s)", s, d.all().size());
}

void run_lints(const std::vector<size_t>& sizes) {
  std::printf("| rules | solver lints (moat check) | peak MiB |\n|---:|---|---:|\n");
  for (size_t n : sizes) {
    auto l = in_child([&] { return lint_task(n); });
    std::printf("| %zu | %s | %.0f |\n", n, l.first.c_str(), l.second);
    std::fflush(stdout);
  }
}

void run_sizes(const std::vector<size_t>& sizes) {
  std::printf("| rules | isolation proof | peak MiB | confinement proof | peak MiB | diff (one rule changed) | peak MiB |\n");
  std::printf("|---:|---|---:|---|---:|---|---:|\n");
  for (size_t n : sizes) {
    auto iso = in_child([&] { return prove_task(n, bench::isolation_proof); });
    auto conf = in_child([&] { return prove_task(n, bench::confinement_proof); });
    auto diff = in_child([&] { return diff_task(n); });
    std::printf("| %zu | %s | %.0f | %s | %.0f | %s | %.0f |\n", n, iso.first.c_str(), iso.second, conf.first.c_str(),
                conf.second, diff.first.c_str(), diff.second);
    std::fflush(stdout);
  }
  // The cost of generating the policy alone (included in every peak above).
  for (size_t n : sizes) {
    auto gen = in_child([&] {
      auto t0 = Clock::now();
      Module m = bench::generate_policy(n);
      return fmt::format("{:.3f} s", since(t0));
    });
    std::printf("generate %zu rules: %s, peak %.0f MiB\n", n, gen.first.c_str(), gen.second);
  }
}

void run_fqdn(const std::vector<size_t>& sizes) {
  std::printf("| rules | FQDN matches | partition (BFS) | classes | Z3 strings | classes | complete |\n");
  std::printf("|---:|---:|---|---:|---|---:|---|\n");
  for (size_t n : sizes) {
    Module m = bench::generate_policy(n);
    std::vector<FqdnMatch> fq;
    std::set<std::pair<bool, std::string>> seen;
    for (const Rule& r : m.rules)
      if (r.peer.kind == Peer::Kind::Fqdn && seen.emplace(r.peer.fqdn.pattern, r.peer.fqdn.value).second)
        fq.push_back(r.peer.fqdn);
    auto t0 = Clock::now();
    auto part = verify::partition_fqdns(fq);
    double bfs = since(t0);
    t0 = Clock::now();
    auto str = verify::string_name_classes(fq, 10000);
    double z3s = since(t0);
    std::printf("| %zu | %zu | %.3f s (%zu states) | %zu | %.3f s | %zu | %s |\n", n, fq.size(), bfs,
                part ? part->states_explored : 0, part ? part->classes.size() : 0, z3s, str.partition.classes.size(),
                str.complete ? "yes" : "no (timeout)");
    std::fflush(stdout);
  }
}

} // namespace

int main(int argc, char** argv) {
  std::vector<size_t> sizes = {100, 1000, 10000, 100000};
  bool fqdn = false, lints = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--fqdn")) fqdn = true;
    else if (!std::strcmp(argv[i], "--lints")) lints = true;
    else if (!std::strcmp(argv[i], "--sizes") && i + 1 < argc) {
      sizes.clear();
      for (char* tok = std::strtok(argv[++i], ","); tok; tok = std::strtok(nullptr, ",")) sizes.push_back(std::strtoull(tok, nullptr, 10));
    } else {
      std::fprintf(stderr, "usage: %s [--sizes 100,1000,...] [--fqdn | --lints]\n", argv[0]);
      return 2;
    }
  }
  if (fqdn) run_fqdn(sizes);
  else if (lints) run_lints(sizes);
  else run_sizes(sizes);
  return 0;
}
