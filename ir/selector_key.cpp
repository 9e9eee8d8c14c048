// Selector keys (see selector_key.h): every string length-prefixed, so that no content of a
// key or value can make two different selectors read alike.
#include "ir/selector_key.h"

#include <charconv>

namespace moat {

namespace {
// Numbers through to_chars: std::to_string per string was most of a key's cost (a cluster's
// lints key a few hundred thousand selectors).
void put(std::string& k, size_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  k.append(buf, end);
}
void put(std::string& k, const std::string& s) {
  put(k, s.size());
  k += ':';
  k += s;
}
void put(std::string& k, const LabelSelector& s) {
  put(k, s.reqs.size());
  k += '{';
  for (const LabelRequirement& r : s.reqs) {
    put(k, r.key);
    k += static_cast<char>('0' + static_cast<int>(r.op));
    put(k, r.values.size());
    for (const std::string& v : r.values) put(k, v);
  }
}
} // namespace

std::string selector_key(const EndpointSelector& s) {
  std::string k;
  k.reserve(128);
  put(k, s.namespaces);
  put(k, s.pods);
  return k;
}

} // namespace moat
