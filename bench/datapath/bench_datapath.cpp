// Datapath benchmark: ns per packet through BPF_PROG_TEST_RUN (the kernel's own average over
// `repeat` runs) for an empty program (the floor), moat's generated program and the
// hand-written C reference (same maps, filled by the same loader code) at N rules.
// Packets: a new flow allowed by a rule (TCP ACK: policy path, no conntrack record), a new
// flow dropped by isolation (policy path + drop event), an established UDP flow (conntrack
// hit). Median of --runs measurements each, moat's and the reference's runs interleaved.
// Usage: see bench/datapath/run.sh.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "backend/backend.h"
#include "runtime/loader.h"
#include "runtime/packets.h"
#include "synthetic.h"

using namespace moat;

namespace {

struct Options {
  std::vector<size_t> rules = {10, 1000, 10000, 100000};
  uint32_t repeat = 1000000;
  int runs = 5;
  std::string reference_dir;  // reference-N.bpf.o per N (bench/datapath/run.sh builds them)
  std::string save_dir;       // when set, moat's object for N rules is written to moat-N.bpf.o (for llvm-objdump)
  // A before/after comparison in one run: moat-N.bpf.o saved (--save-dir) by an earlier
  // build, measured interleaved with this build's object and the reference; first or second.
  std::string baseline_dir;
  bool baseline_first = true;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

/// ns/packet of one test run of `repeat` repetitions (the kernel's average).
double one_run(int prog_fd, const std::vector<uint8_t>& pkt, const Options& o) {
  LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = pkt.data(), .data_size_in = static_cast<uint32_t>(pkt.size()),
              .repeat = static_cast<int>(o.repeat));
  if (bpf_prog_test_run_opts(prog_fd, &t) != 0) {
    std::perror("BPF_PROG_TEST_RUN");
    std::exit(3);
  }
  return t.duration;
}

/// Median ns/packet of `runs` test runs of `repeat` repetitions.
double measure(int prog_fd, const std::vector<uint8_t>& pkt, const Options& o) {
  std::vector<double> samples;
  for (int i = 0; i < o.runs; ++i) samples.push_back(one_run(prog_fd, pkt, o));
  return median(samples);
}

/// The floor: `r0 = 0; exit` as a sched_cls program.
int empty_program() {
  struct bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  int fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "moat_empty", "Dual BSD/GPL", insns, 2, nullptr);
  if (fd < 0) {
    std::perror("bpf_prog_load(empty)");
    std::exit(3);
  }
  return fd;
}

struct Packets {
  std::vector<uint8_t> allowed, denied, established;
  runtime::PacketSpec established_spec;
};

Packets packets_for(size_t n) {
  Packets p;
  // A rule in the middle of the policy, an allow with one TCP port.
  size_t k = n / 2;
  while (k > 0 && (moat::bench::synthetic_deny(k) || moat::bench::synthetic_proto(k) != Protocol::TCP || k % 10 == 5)) --k;
  runtime::PacketSpec s;
  s.src = moat::bench::synthetic_source(k);
  s.dst = *IpAddr::parse("10.0.0.1");
  s.proto = 6;
  s.sport = 40000;
  s.dport = moat::bench::synthetic_port(k);
  s.tcp_flags = runtime::kTcpAck;
  p.allowed = runtime::build_packet(s);
  runtime::PacketSpec d = s;
  d.src = *IpAddr::parse("192.0.2.77");  // no rule covers it: isolated -> drop
  p.denied = runtime::build_packet(d);
  size_t u = n > 3 ? n - 1 : 3;
  while (u > 0 && (moat::bench::synthetic_deny(u) || moat::bench::synthetic_proto(u) != Protocol::UDP)) --u;
  runtime::PacketSpec e = s;
  e.proto = 17;
  e.src = moat::bench::synthetic_source(u);
  e.dport = moat::bench::synthetic_port(u);
  p.established = runtime::build_packet(e);
  p.established_spec = e;
  return p;
}

struct Row {
  double allowed = 0, denied = 0, established = 0;
};

/// A loaded object with its maps filled, after checking the verdicts the benchmark relies on
/// (the established packet's check records its flow: later runs hit conntrack).
struct Loaded {
  std::unique_ptr<runtime::Datapath> dp;
  int fd = -1;
};

Loaded load_object(const std::vector<uint8_t>& elf, const bundle::MapContents& contents, const Packets& pk,
                   const char* what) {
  std::string error;
  Loaded l;
  l.dp = runtime::Datapath::open(elf, {}, error);
  if (!l.dp || !l.dp->apply(contents, error)) {
    std::fprintf(stderr, "%s: %s\n", what, error.c_str());
    std::exit(3);
  }
  l.fd = l.dp->program_fd(runtime::Program::TcIngress);
  auto check = [&](const std::vector<uint8_t>& pkt, bool pass) {
    auto res = l.dp->test_run(runtime::Program::TcIngress, pkt, 1, error);
    if (!res || res->passed != pass) {
      std::fprintf(stderr, "%s: unexpected verdict in the benchmark setup\n", what);
      std::exit(3);
    }
  };
  check(pk.allowed, true);
  check(pk.denied, false);
  check(pk.established, true);
  return l;
}

/// Rows for the loaded objects, measured interleaved: run i of every packet on every object
/// back to back, so that the load of a shared machine drifts over all of them alike.
std::vector<Row> measure_interleaved(const std::vector<Loaded>& objs, const Packets& pk, const Options& o) {
  std::vector<std::array<std::vector<double>, 3>> samples(objs.size());
  const std::vector<uint8_t>* pkts[3] = {&pk.allowed, &pk.denied, &pk.established};
  for (int i = 0; i < o.runs; ++i)
    for (int p = 0; p < 3; ++p)
      for (size_t k = 0; k < objs.size(); ++k) samples[k][p].push_back(one_run(objs[k].fd, *pkts[p], o));
  std::vector<Row> rows;
  for (auto& s : samples) rows.push_back({median(s[0]), median(s[1]), median(s[2])});
  return rows;
}

std::string fmt_ratio(double r) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.2f", r);
  return buf;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

} // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--repeat") o.repeat = static_cast<uint32_t>(std::stoul(next()));
    else if (a == "--runs") o.runs = std::stoi(next());
    else if (a == "--reference-dir") o.reference_dir = next();
    else if (a == "--save-dir") o.save_dir = next();
    else if (a == "--baseline-dir") o.baseline_dir = next();
    else if (a == "--baseline-second") o.baseline_first = false;
    else if (a == "--rules") {
      o.rules.clear();
      std::stringstream ss(next());
      for (std::string t; std::getline(ss, t, ',');) o.rules.push_back(std::stoul(t));
    } else {
      std::fprintf(stderr, "usage: bench_datapath [--rules 10,1000,...] [--repeat N] [--runs N] [--reference-dir DIR] [--save-dir DIR] [--baseline-dir DIR [--baseline-second]]\n");
      return 2;
    }
  }
  std::string why;
  if (!runtime::kernel_bpf_available(why)) {
    std::fprintf(stderr, "bench_datapath: %s\n", why.c_str());
    return 2;
  }
  libbpf_set_print(nullptr);

  int floor_fd = empty_program();
  Packets p10 = packets_for(10);
  double floor = measure(floor_fd, p10.allowed, o);
  std::printf("repeat=%u runs=%d (median), ns/packet from BPF_PROG_TEST_RUN\n", o.repeat, o.runs);
  std::printf("empty program (floor): %.1f ns\n\n", floor);
  if (o.baseline_dir.empty()) {
    std::printf("| rules | entries (addresses/policy) | moat allowed | moat denied | moat established | C allowed | C denied | C established | moat/C allowed | denied | established |\n");
    std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  }
  double first_allowed = 0;
  for (size_t n : o.rules) {
    Module m = moat::bench::synthetic_policy(n);
    std::vector<Endpoint> eps = {moat::bench::synthetic_web()};
    bundle::IdentityAllocator ids;
    bundle::MapContents contents = bundle::compute_map_contents(m, eps, {{0, 1, 0}}, ids);
    std::vector<uint8_t> elf;
    std::string error;
    if (!backend::compile_datapath(bundle::plan_datapath(m), "bench", elf, error)) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 3;
    }
    if (!o.save_dir.empty()) {
      std::ofstream out(o.save_dir + "/moat-" + std::to_string(n) + ".bpf.o", std::ios::binary);
      out.write(reinterpret_cast<const char*>(elf.data()), static_cast<std::streamsize>(elf.size()));
    }
    Packets pk = packets_for(n);
    std::vector<Loaded> objs;
    objs.push_back(load_object(elf, contents, pk, "moat"));
    if (!o.reference_dir.empty()) {
      std::vector<uint8_t> ref = read_file(o.reference_dir + "/reference-" + std::to_string(n) + ".bpf.o");
      if (!ref.empty()) objs.push_back(load_object(ref, contents, pk, "reference"));
    }
    if (!o.baseline_dir.empty()) {
      std::vector<uint8_t> before = read_file(o.baseline_dir + "/moat-" + std::to_string(n) + ".bpf.o");
      if (before.empty() || objs.size() < 2) {
        std::fprintf(stderr, "--baseline-dir: no %s/moat-%zu.bpf.o, or no reference\n", o.baseline_dir.c_str(), n);
        return 3;
      }
      objs.insert(o.baseline_first ? objs.begin() : objs.end(), load_object(before, contents, pk, "baseline"));
      std::vector<Row> r = measure_interleaved(objs, pk, o);
      Row before_row = o.baseline_first ? r[0] : r[2], after_row = o.baseline_first ? r[1] : r[0];
      Row c_row = o.baseline_first ? r[2] : r[1];
      const char* names[3] = {"allowed", "denied", "established"};
      double Row::*cells[3] = {&Row::allowed, &Row::denied, &Row::established};
      if (n == o.rules.front()) {
        std::printf("before/after (%s first): | rules | packet | before | after | C | before/C | after/C |\n",
                    o.baseline_first ? "before" : "after");
        std::printf("|---:|---|---:|---:|---:|---:|---:|\n");
      }
      for (int p = 0; p < 3; ++p)
        std::printf("| %zu | %s | %.0f | %.0f | %.0f | %s | %s |\n", n, names[p], before_row.*cells[p],
                    after_row.*cells[p], c_row.*cells[p], fmt_ratio(before_row.*cells[p] / c_row.*cells[p]).c_str(),
                    fmt_ratio(after_row.*cells[p] / c_row.*cells[p]).c_str());
      std::fflush(stdout);
      continue;
    }
    std::vector<Row> rows = measure_interleaved(objs, pk, o);
    bool have_c = rows.size() > 1;
    Row moat_row = rows[0], c_row = have_c ? rows[1] : Row{};
    if (first_allowed == 0) first_allowed = moat_row.allowed;
    auto c = [&](double v) { return have_c ? std::to_string(static_cast<int>(v + 0.5)) : std::string("-"); };
    auto ratio = [&](double a, double b) { return have_c ? fmt_ratio(a / b) : std::string("-"); };
    std::printf("| %zu | %zu / %zu | %.0f | %.0f | %.0f | %s | %s | %s | %s | %s | %s |\n", n,
                contents.hosts.size() + contents.ipcache.size(), contents.policy.size() + contents.policy_exact.size(), moat_row.allowed, moat_row.denied, moat_row.established,
                c(c_row.allowed).c_str(), c(c_row.denied).c_str(), c(c_row.established).c_str(),
                ratio(moat_row.allowed, c_row.allowed).c_str(), ratio(moat_row.denied, c_row.denied).c_str(),
                ratio(moat_row.established, c_row.established).c_str());
    std::fflush(stdout);
  }
  return 0;
}
