// FQDN matching as Cilium's matchName / matchPattern define it (pkg/fqdn/matchpattern:
// '*' becomes [-a-zA-Z0-9_]*, a lone '*' matches all names, "**." one or more labels),
// implemented as a label-wise matcher instead of a regular expression so that a hostile
// name cannot make matching slow and the verifier can reason about the same structure.
#include "ir/fqdn.h"

#include <vector>

namespace moat {

namespace {

char lower_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

/// The characters a '*' may consume (Cilium's allowedDNSCharsREGroup).
bool star_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

std::vector<std::string_view> split_labels(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    if (dot == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, dot - start));
    start = dot + 1;
  }
}

/// One pattern label against one name label (both canonical). The NFA state is the set of
/// pattern positions reached; a '*' state loops on star_char and may be skipped (epsilon).
bool label_matches(std::string_view pat, std::string_view label) {
  if (pat.find('*') == std::string_view::npos) return pat == label;
  const size_t n = pat.size();
  std::vector<char> cur(n + 1, 0), next(n + 1, 0);
  auto close = [&](std::vector<char>& set) {
    // Epsilon closure: a '*' at position i may match nothing, so i+1 is reachable too.
    for (size_t i = 0; i < n; ++i)
      if (set[i] && pat[i] == '*') set[i + 1] = 1;
  };
  cur[0] = 1;
  close(cur);
  for (char c : label) {
    std::fill(next.begin(), next.end(), 0);
    bool any = false;
    for (size_t i = 0; i < n; ++i) {
      if (!cur[i]) continue;
      if (pat[i] == '*') {
        if (star_char(c)) next[i] = any = 1;
      } else if (pat[i] == c) {
        next[i + 1] = any = 1;
      }
    }
    if (!any) return false;
    close(next);
    cur.swap(next);
  }
  return cur[n] != 0;
}

/// Pattern labels against name labels, one to one.
bool labels_match(const std::vector<std::string_view>& pat, size_t pat_from,
                  const std::vector<std::string_view>& name, size_t name_from) {
  if (pat.size() - pat_from != name.size() - name_from) return false;
  for (size_t i = 0; pat_from + i < pat.size(); ++i)
    if (!label_matches(pat[pat_from + i], name[name_from + i])) return false;
  return true;
}

/// A name label that "**." may consume: non-empty, made of DNS characters.
bool plain_label(std::string_view label) {
  if (label.empty()) return false;
  for (char c : label)
    if (!star_char(c)) return false;
  return true;
}

} // namespace

std::string canonical_fqdn(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) out.push_back(lower_ascii(c));
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

bool fqdn_name_matches(std::string_view match_name, std::string_view name) {
  return canonical_fqdn(match_name) == canonical_fqdn(name);
}

bool fqdn_pattern_matches(std::string_view pattern_text, std::string_view name_text) {
  std::string pattern = canonical_fqdn(pattern_text);
  std::string name = canonical_fqdn(name_text);
  if (pattern == "*") return true;  // Cilium: a lone '*' matches every name
  if (name.empty() || pattern.empty()) return false;
  std::vector<std::string_view> name_labels = split_labels(name);
  if (pattern.rfind("**.", 0) == 0) {
    std::vector<std::string_view> rest = split_labels(std::string_view(pattern).substr(3));
    // "**." needs at least one whole label in front of what the rest matches.
    if (name_labels.size() <= rest.size()) return false;
    size_t prefix = name_labels.size() - rest.size();
    for (size_t i = 0; i < prefix; ++i)
      if (!plain_label(name_labels[i])) return false;
    return labels_match(rest, 0, name_labels, prefix);
  }
  return labels_match(split_labels(pattern), 0, name_labels, 0);
}

} // namespace moat
