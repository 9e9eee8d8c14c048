// Resource quantity parsing (see quantity.h). Exact integer arithmetic: the mantissa's
// digits and the suffix's power of ten or two are combined in 128 bits with a bound checked
// at every step, so no input can overflow or round.
#include "frontend/k8s/quantity.h"

#include <cctype>

namespace moat {

namespace {

constexpr __int128 kLimit = static_cast<__int128>(1) << 100;  // far above any real request

bool fail(std::string* why, const char* msg) {
  if (why) *why = msg;
  return false;
}

/// value *= 10^exp10 * 2^exp2, then divided by 10^-exp10 when negative; false on overflow
/// or when the result is not a whole number of thousandths.
bool scale(__int128& value, int exp10, int exp2, std::string* why) {
  for (; exp2 > 0; --exp2)
    if ((value *= 2) > kLimit) return fail(why, "too large");
  for (; exp10 > 0; --exp10)
    if ((value *= 10) > kLimit) return fail(why, "too large");
  for (; exp10 < 0; ++exp10) {
    if (value % 10 != 0) return fail(why, "finer than a thousandth");
    value /= 10;
  }
  return true;
}

} // namespace

std::optional<Quantity> parse_quantity(std::string_view text, std::string* why) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  __int128 digits = 0;
  int fraction_digits = 0, count = 0;
  bool dot = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.' && !dot) {
      dot = true;
      continue;
    }
    if (!std::isdigit(static_cast<unsigned char>(c))) break;
    if (++count > 30) return fail(why, "too many digits"), std::nullopt;
    digits = digits * 10 + (c - '0');
    if (dot) ++fraction_digits;
  }
  if (count == 0) return fail(why, "not a number"), std::nullopt;
  std::string_view suffix = text.substr(i);
  int exp10 = 0, exp2 = 0;
  static const struct { const char* s; int e10, e2; } kSuffixes[] = {
      {"", 0, 0},   {"n", -9, 0}, {"u", -6, 0}, {"m", -3, 0}, {"k", 3, 0},   {"M", 6, 0},   {"G", 9, 0},
      {"T", 12, 0}, {"P", 15, 0}, {"E", 18, 0}, {"Ki", 0, 10}, {"Mi", 0, 20}, {"Gi", 0, 30}, {"Ti", 0, 40},
      {"Pi", 0, 50}, {"Ei", 0, 60}};
  bool known = false;
  for (const auto& s : kSuffixes)
    if (suffix == s.s) exp10 = s.e10, exp2 = s.e2, known = true;
  if (!known) {
    // A decimal exponent: e or E, an optional sign, digits.
    if (suffix.size() < 2 || (suffix[0] != 'e' && suffix[0] != 'E')) return fail(why, "unknown suffix"), std::nullopt;
    size_t j = 1;
    bool neg_exp = false;
    if (suffix[j] == '+' || suffix[j] == '-') neg_exp = suffix[j++] == '-';
    if (j >= suffix.size()) return fail(why, "exponent without digits"), std::nullopt;
    int e = 0;
    for (; j < suffix.size(); ++j) {
      if (!std::isdigit(static_cast<unsigned char>(suffix[j]))) return fail(why, "unknown suffix"), std::nullopt;
      e = e * 10 + (suffix[j] - '0');
      if (e > 40) return fail(why, "exponent out of range"), std::nullopt;
    }
    exp10 = neg_exp ? -e : e;
  }
  // value = digits * 10^(exp10 - fraction_digits) * 2^exp2, counted in thousandths.
  __int128 milli = digits;
  if (!scale(milli, exp10 - fraction_digits + 3, exp2, why)) return std::nullopt;
  return Quantity{negative ? -milli : milli};
}

} // namespace moat
