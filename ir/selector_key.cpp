// Selector keys (see selector_key.h): every string length-prefixed, so that no content of a
// key or value can make two different selectors read alike.
#include "ir/selector_key.h"

namespace moat {

namespace {
void put(std::string& k, const std::string& s) {
  k += std::to_string(s.size());
  k += ':';
  k += s;
}
void put(std::string& k, const LabelSelector& s) {
  k += std::to_string(s.reqs.size());
  k += '{';
  for (const LabelRequirement& r : s.reqs) {
    put(k, r.key);
    k += static_cast<char>('0' + static_cast<int>(r.op));
    k += std::to_string(r.values.size());
    for (const std::string& v : r.values) put(k, v);
  }
}
} // namespace

std::string selector_key(const EndpointSelector& s) {
  std::string k;
  k.reserve(64);
  put(k, s.namespaces);
  put(k, s.pods);
  return k;
}

} // namespace moat
