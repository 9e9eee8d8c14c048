// Helpers for the YAML front-end tests: parse text as one file, look diagnostics up by
// code and position, and evaluate flows with the reference interpreter.
#pragma once
#include <catch2/catch.hpp>

#include <memory>
#include <sstream>
#include <string>

#include "frontend/frontend.h"
#include "ir/interp.h"

namespace moat::test {

struct Parsed {
  SourceManager sm;
  Module m;
  Diagnostics d;

  /// Every diagnostic as "line:col CODE message", one per line (for failure messages).
  std::string dump() const {
    std::ostringstream os;
    for (const Diagnostic& x : d.all())
      os << x.range.line << ":" << x.range.col << " " << code_name(x.code) << " " << x.message << "\n";
    return os.str();
  }
  size_t count(Code c) const {
    size_t n = 0;
    for (const Diagnostic& x : d.all()) n += x.code == c;
    return n;
  }
  /// The first diagnostic with this code, or nullptr.
  const Diagnostic* find(Code c) const {
    for (const Diagnostic& x : d.all())
      if (x.code == c) return &x;
    return nullptr;
  }
  /// Every diagnostic with this code, in report order.
  std::vector<const Diagnostic*> with(Code c) const {
    std::vector<const Diagnostic*> out;
    for (const Diagnostic& x : d.all())
      if (x.code == c) out.push_back(&x);
    return out;
  }
  /// Is there a diagnostic with this code at exactly line:col?
  bool has(Code c, uint32_t line, uint32_t col) const {
    for (const Diagnostic& x : d.all())
      if (x.code == c && x.range.line == line && x.range.col == col) return true;
    return false;
  }
};

inline std::unique_ptr<Parsed> parse_with(const std::string& text, const LoadOptions& opts,
                                          const std::string& path = "test.yaml") {
  auto p = std::make_unique<Parsed>();
  FileId f = p->sm.add(path, text);
  parse_yaml(f, p->sm, p->m, p->d, opts);
  return p;
}

inline std::unique_ptr<Parsed> parse(const std::string& text, const std::string& path = "test.yaml") {
  return parse_with(text, LoadOptions{}, path);
}

/// A workload endpoint for interpreter checks.
inline Endpoint pod(const std::string& ns, Labels labels, const std::string& ip, Labels ns_labels = {}) {
  Endpoint e;
  e.name = ns + "/" + (labels.empty() ? "pod" : labels.begin()->second);
  e.kind = EndpointKind::Workload;
  e.ns = ns;
  e.ns_labels = std::move(ns_labels);
  e.ns_labels[kNamespaceNameLabel] = ns;
  e.labels = std::move(labels);
  e.ips.push_back(*IpAddr::parse(ip));
  return e;
}

inline Endpoint external(const std::string& ip, const std::string& dns = "") {
  Endpoint e;
  e.name = ip;
  e.kind = EndpointKind::External;
  e.ips.push_back(*IpAddr::parse(ip));
  if (!dns.empty()) e.dns_names.push_back(dns);
  return e;
}

inline bool allowed(const Module& m, const Endpoint& src, const Endpoint& dst, uint16_t port,
                    Protocol proto = Protocol::TCP) {
  Flow f{&src, &dst, proto, port};
  return evaluate(m, f).allowed;
}

} // namespace moat::test
