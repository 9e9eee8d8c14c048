// The text, JSON, CSV and Markdown forms of `moat list` (see list_formats.h).
#include "cli/list_formats.h"

#include <array>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/explain.h"
#include "cli/markdown.h"
#include "cli/verify_report.h"

namespace moat::cli {

namespace {

/// Exposure entries of one direction, as {src, dst, conn} rows (the workload is the
/// destination of an ingress exposure).
std::vector<std::array<std::string, 3>> exposure_rows(const ConnList& l, bool ingress) {
  std::vector<std::array<std::string, 3>> out;
  for (const ExposureEntry& e : l.exposures)
    if (e.ingress == ingress)
      out.push_back(ingress ? std::array<std::string, 3>{e.peer, e.workload, e.conns.str()}
                            : std::array<std::string, 3>{e.workload, e.peer, e.conns.str()});
  return out;
}

std::vector<std::array<std::string, 3>> rows(const ConnList& l) {
  std::vector<std::array<std::string, 3>> out;
  for (const ListEntry& e : l.entries)
    if (!e.conns.empty()) out.push_back({l.nodes[e.src].name, l.nodes[e.dst].name, e.conns.str()});
  return out;
}

/// CSV field: quoted when it holds a comma, a quote or a line break (RFC 4180).
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s)
    q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

nlohmann::json json_rows(const std::vector<std::array<std::string, 3>>& r) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& [src, dst, conn] : r)
    a.push_back({{"src", src}, {"dst", dst}, {"conn", conn}});
  return a;
}

} // namespace

std::string list_text(const ConnList& l, bool explain, const Module& m, const SourceManager& sm) {
  std::string out;
  for (const ListEntry& e : l.entries) {
    if (e.conns.empty() && !explain) continue;
    const std::string& src = l.nodes[e.src].name;
    const std::string& dst = l.nodes[e.dst].name;
    out += fmt::format("{} => {} : {}\n", src, dst, e.conns.str());
    if (!explain) continue;
    for (const ConnSegment& s : e.segments) {
      out += fmt::format("    {}: {}\n", s.conns.str(), s.verdict.allowed ? "allowed" : "denied");
      Endpoint a, b; // explain_verdict names the ends only
      a.name = src, b.name = dst;
      out += explain_verdict(m, sm, s.verdict, a, b, "      ");
    }
  }
  if (l.exposure) {
    out += "\nExposure Analysis Result:\nEgress Exposure:\n";
    for (const ExposureEntry& e : l.exposures)
      if (!e.ingress) out += fmt::format("{} \t=> \t{} : {}\n", e.workload, e.peer, e.conns.str());
    out += "\nIngress Exposure:\n";
    for (const ExposureEntry& e : l.exposures)
      if (e.ingress) out += fmt::format("{} \t<= \t{} : {}\n", e.workload, e.peer, e.conns.str());
  }
  return out;
}

std::string list_json(const ConnList& l, bool explain, const Module& m, const SourceManager& sm) {
  nlohmann::json conns = explain ? nlohmann::json::array() : json_rows(rows(l));
  for (size_t i = 0; explain && i < l.entries.size(); ++i) {
    const ListEntry& e = l.entries[i];
    nlohmann::json pieces = nlohmann::json::array();
    for (const ConnSegment& s : e.segments)
      pieces.push_back({{"conn", s.conns.str()},
                        {"allowed", s.verdict.allowed},
                        {"egress", decision_json(m, sm, s.verdict.egress)},
                        {"ingress", decision_json(m, sm, s.verdict.ingress)}});
    conns.push_back({{"src", l.nodes[e.src].name},
                     {"dst", l.nodes[e.dst].name},
                     {"conn", e.conns.str()},
                     {"explanation", std::move(pieces)}});
  }
  if (!l.exposure) return conns.dump(2) + "\n";
  nlohmann::json j = {{"connlist_results", conns},
                      {"exposure_results",
                       {{"egress_exposure", json_rows(exposure_rows(l, false))},
                        {"ingress_exposure", json_rows(exposure_rows(l, true))}}}};
  return j.dump(2) + "\n";
}

std::string list_csv(const ConnList& l) {
  std::string out = "src,dst,conn\n";
  auto add = [&](const std::vector<std::array<std::string, 3>>& r) {
    for (const auto& [src, dst, conn] : r)
      out += csv_field(src) + "," + csv_field(dst) + "," + csv_field(conn) + "\n";
  };
  add(rows(l));
  if (l.exposure) {
    out += "Exposure Analysis Result:,,\nEgress Exposure:,,\nsrc,dst,conn\n";
    add(exposure_rows(l, false));
    out += "Ingress Exposure:,,\nsrc,dst,conn\n";
    add(exposure_rows(l, true));
  }
  return out;
}

std::string list_md(const ConnList& l) {
  std::string out;
  auto table = [&](const std::vector<std::array<std::string, 3>>& r) {
    out += "| src | dst | conn |\n|-----|-----|------|\n";
    for (const auto& [src, dst, conn] : r)
      out += fmt::format("| {} | {} | {} |\n", md_cell(src), md_cell(dst), md_cell(conn));
  };
  table(rows(l));
  if (l.exposure) {
    out += "\n## Exposure Analysis Result:\n### Egress Exposure:\n";
    table(exposure_rows(l, false));
    out += "\n### Ingress Exposure:\n";
    table(exposure_rows(l, true));
  }
  return out;
}

} // namespace moat::cli
