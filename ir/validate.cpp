// Shared validation: the checks the Kubernetes API server and Cilium apply to labels,
// FQDNs, CIDR except lists and ports, so every front end rejects the same input the same way.
#include "ir/validate.h"

#include <algorithm>
#include <cctype>

namespace moat {

namespace {

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

/// The name part of a qualified name and a label value share one grammar:
/// (([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?, at most 63 characters.
std::optional<std::string> check_name_part(std::string_view s, std::string_view what) {
  if (s.size() > 63) return std::string(what) + " must be at most 63 characters";
  if (s.empty()) return std::nullopt;
  for (char c : s)
    if (!is_alnum(c) && c != '-' && c != '_' && c != '.')
      return std::string(what) + " may contain only letters, digits, '-', '_' and '.'";
  if (!is_alnum(s.front()) || !is_alnum(s.back()))
    return std::string(what) + " must start and end with a letter or digit";
  return std::nullopt;
}

} // namespace

std::optional<std::string> check_dns1123(std::string_view s, bool subdomain) {
  size_t max = subdomain ? 253 : 63;
  if (s.empty()) return std::string("must not be empty");
  if (s.size() > max) return "is longer than " + std::to_string(max) + " characters";
  auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  for (char c : s)
    if (!lower_alnum(c) && c != '-' && !(subdomain && c == '.'))
      return std::string("may contain only lower-case letters, digits") + (subdomain ? ", '-' and '.'" : " and '-'");
  for (size_t start = 0;;) {
    size_t dot = subdomain ? s.find('.', start) : std::string_view::npos;
    std::string_view label = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.size() > 63) return "has a part longer than 63 characters";
    if (label.empty() || !lower_alnum(label.front()) || !lower_alnum(label.back()))
      return std::string("must start and end with a lower-case letter or digit") +
             (subdomain ? " (so must each part between dots)" : "");
    if (dot == std::string_view::npos) return std::nullopt;
    start = dot + 1;
  }
}

void warn_host_bits(std::string_view text, const IpPrefix& p, SourceRange at, Diagnostics& diags) {
  auto written = IpAddr::parse(text.substr(0, text.find('/')));
  if (!written || *written == p.addr) return;
  diags.report(Code::W313, at,
               "'" + std::string(text) + "' has host bits set; it means " + p.str() +
                   " (the API server accepts it with a warning; write " + p.str() + ")");
}

std::optional<std::string> check_label_key(std::string_view key) {
  if (key.empty()) return "label key must not be empty";
  std::string_view name = key;
  size_t slash = key.find('/');
  if (slash != std::string_view::npos) {
    if (key.find('/', slash + 1) != std::string_view::npos) return "label key may contain at most one '/'";
    std::string_view prefix = key.substr(0, slash);
    if (prefix.empty()) return std::string("label key prefix must not be empty");
    if (auto why = check_dns1123(prefix, true)) return "label key prefix '" + std::string(prefix) + "' " + *why;
    name = key.substr(slash + 1);
  }
  if (name.empty()) return "label key name must not be empty";
  return check_name_part(name, "label key name");
}

std::optional<std::string> check_label_value(std::string_view value) {
  return check_name_part(value, "label value");
}

std::optional<std::string> check_fqdn(std::string_view text, bool pattern) {
  // Cilium's CRD validation: matchName ^([-a-zA-Z0-9_]+[.]?)+$, matchPattern adds '*'.
  const char* what = pattern ? "matchPattern" : "matchName";
  if (text.empty()) return std::string(what) + " must not be empty";
  if (text.size() > 255) return std::string(what) + " must be at most 255 characters";
  bool label_empty = true;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.') {
      if (label_empty) return std::string(what) + " '" + std::string(text) + "' has an empty label";
      label_empty = true;
      continue;
    }
    bool ok = is_alnum(c) || c == '-' || c == '_' || (pattern && c == '*');
    if (!ok) {
      std::string shown = (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
                              ? "byte " + std::to_string(static_cast<unsigned char>(c))
                              : "'" + std::string(1, c) + "'";
      return std::string(what) + " '" + std::string(text) + "' contains invalid character " + shown +
             " at position " + std::to_string(i + 1);
    }
    label_empty = false;
  }
  return std::nullopt;
}

std::string normalize_fqdn(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

bool validate_cidr_except(const Peer& p, Diagnostics& diags) {
  if (p.kind != Peer::Kind::Cidr) return true;
  bool ok = true;
  for (const IpPrefix& e : p.except) {
    if (!p.cidr.contains(e)) {
      diags.report(Code::E301, p.range,
                   "except " + e.str() + " is not inside " + p.cidr.str() +
                       (e.addr.v6 != p.cidr.addr.v6 ? " (different address family)" : ""));
      ok = false;
    }
  }
  return ok;
}

bool validate_port(const PortMatch& pm, Diagnostics& diags) {
  if (!pm.name.empty()) return true;
  if (pm.proto == Protocol::ICMP || pm.proto == Protocol::ICMPv6) {
    if (pm.lo > 255 || pm.hi > 255) {
      diags.report(Code::E303, pm.range, std::string(to_string(pm.proto)) + " type " +
                                             std::to_string(pm.lo > 255 ? pm.lo : pm.hi) + " is outside 0-255");
      return false;
    }
    if (pm.hi < pm.lo) {
      diags.report(Code::E302, pm.range, "ICMP type range " + std::to_string(pm.lo) + ".." + std::to_string(pm.hi) +
                                             " ends before it starts");
      return false;
    }
    return true;
  }
  // 0..65535 is "every port" (a protocol without a port, or Cilium's port 0).
  if (pm.lo == 0 && pm.hi == 65535) return true;
  if (pm.lo == 0) {
    diags.report(Code::E303, pm.range, "port 0 is outside 1-65535");
    return false;
  }
  if (pm.hi < pm.lo) {
    diags.report(Code::E302, pm.range,
                 "endPort " + std::to_string(pm.hi) + " is smaller than port " + std::to_string(pm.lo));
    return false;
  }
  return true;
}

} // namespace moat
