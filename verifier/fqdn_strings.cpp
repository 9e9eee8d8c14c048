// FQDN matches as Z3 regular expressions over a string variable (see fqdn_strings.h).
// '*' is [-a-z0-9_]* inside one label, a leading "**." is ([-a-z0-9_]+\.)+, a lone '*'
// is every valid name; names are lower-case labels of [-a-z0-9_]+ joined by dots.
#include "verifier/fqdn_strings.h"

#include <algorithm>

#include <z3++.h>

#include "ir/fqdn.h"

namespace moat::verify {

namespace {

struct Regexes {
  z3::context& ctx;
  z3::expr lit(const std::string& s) { return z3::to_re(ctx.string_val(s)); }
  z3::expr star_char() {
    // operator+ on regular expressions is union in z3++.
    return z3::range(ctx.string_val("a"), ctx.string_val("z")) + z3::range(ctx.string_val("0"), ctx.string_val("9")) +
           lit("-") + lit("_");
  }
  z3::expr label() { return z3::plus(star_char()); }
  z3::expr name() { return z3::concat(label(), z3::star(z3::concat(lit("."), label()))); }

  z3::expr match(const FqdnMatch& m) {
    std::string v = canonical_fqdn(m.value);
    if (!m.pattern) return lit(v);
    if (v == "*") return name();
    std::vector<z3::expr> parts;
    if (v.rfind("**.", 0) == 0) {
      parts.push_back(z3::plus(z3::concat(label(), lit("."))));
      v = v.substr(3);
    }
    std::string run;
    for (char c : v) {
      if (c != '*') {
        run += c;
        continue;
      }
      if (!run.empty()) parts.push_back(lit(run)), run.clear();
      parts.push_back(z3::star(star_char()));
    }
    if (!run.empty()) parts.push_back(lit(run));
    if (parts.empty()) return lit("");
    z3::expr re = parts[0];
    for (size_t i = 1; i < parts.size(); ++i) re = z3::concat(re, parts[i]);
    return re;
  }
};

} // namespace

StringClasses string_name_classes(const std::vector<FqdnMatch>& matches, unsigned timeout_ms, size_t limit) {
  StringClasses out;
  try {
    z3::context ctx;
    Regexes re{ctx};
    z3::solver s(ctx);
    if (timeout_ms) s.set("timeout", timeout_ms);
    z3::expr name = ctx.string_const("name");
    s.add(z3::in_re(name, re.name()));
    std::vector<z3::expr> in;
    for (const FqdnMatch& m : matches) in.push_back(z3::in_re(name, re.match(m)));
    while (out.partition.classes.size() < limit) {
      z3::check_result r = s.check();
      if (r == z3::unsat) {
        out.complete = true;
        break;
      }
      if (r == z3::unknown) break;
      z3::model model = s.get_model();
      NameClass c;
      z3::expr_vector same(ctx);
      for (uint32_t i = 0; i < in.size(); ++i) {
        bool b = model.eval(in[i], true).is_true();
        if (b) c.matches.push_back(i);
        same.push_back(b ? in[i] : !in[i]);
      }
      c.example = model.eval(name, true).get_string();
      s.add(!z3::mk_and(same));  // block this match vector
      if (!c.matches.empty()) out.partition.classes.push_back(std::move(c));
    }
  } catch (const z3::exception&) {
    out.complete = false;
  }
  std::sort(out.partition.classes.begin(), out.partition.classes.end(),
            [](const NameClass& a, const NameClass& b) { return a.matches < b.matches; });
  return out;
}

} // namespace moat::verify
