// Kubernetes resource quantities (k8s.io/apimachinery resource.Quantity syntax): a signed
// decimal number with an optional binary-SI suffix (Ki Mi Gi Ti Pi Ei), decimal-SI suffix
// (n u m k M G T P E) or decimal exponent (e3, E-2), e.g. `1k`, `500m`, `2Gi`, `1e3`, `.5`.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace moat {

/// A parsed quantity, exact in thousandths (500m = 500, 1k = 1'000'000). Quantities finer
/// than a thousandth, or whose magnitude exceeds ~1e18 thousandths, do not parse.
struct Quantity {
  __int128 milli = 0;
  bool whole() const { return milli % 1000 == 0; }
  long long units() const { return static_cast<long long>(milli / 1000); }  // whole() only
};

/// nullopt (and `why`) when `text` is not a quantity moat can represent exactly.
std::optional<Quantity> parse_quantity(std::string_view text, std::string* why = nullptr);

} // namespace moat
