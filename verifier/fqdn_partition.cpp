// Exact name classes for a set of FQDN matches: a breadth-first search over the product of
// one small automaton per match (plus one that accepts valid DNS names). Each reachable
// accepting product state is one realizable match vector; the BFS path to it is the
// shortest name with that vector. Automata read names right to left because real patterns
// end in literal domains ("*.s3.*.amazonaws.com"): reversed, their literal part comes
// first and the search splits immediately instead of tracking every '*' in parallel.
#include "verifier/fqdn_partition.h"

#include <algorithm>
#include <deque>
#include <map>
#include <unordered_map>

#include "ir/fqdn.h"

namespace moat::verify {

namespace {

bool star_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/// A reversed match as an NFA over characters. State i steps on edges[i]; `loop` states
/// repeat on star characters and may be skipped (epsilon to i+1); the "**." suffix (after
/// reversal) is two extra states `multi_a` (start of a label) and `multi_b` (inside one).
struct Nfa {
  struct State {
    char lit = 0;      // literal to step on (0: none)
    bool loop = false;  // '*': loops on star chars, epsilon to next
  };
  std::vector<State> states;  // states.size() is the end of the token chain
  bool multi = false;         // leading "**." in the original pattern
  uint32_t accept() const { return static_cast<uint32_t>(states.size() + (multi ? 1 : 0)); }
};

Nfa compile(const FqdnMatch& m) {
  Nfa nfa;
  std::string v = canonical_fqdn(m.value);
  if (m.pattern && v.rfind("**.", 0) == 0) {
    nfa.multi = true;
    v = v.substr(3);
  }
  std::reverse(v.begin(), v.end());
  for (char c : v) {
    Nfa::State s;
    if (m.pattern && c == '*')
      s.loop = true;
    else
      s.lit = c;
    nfa.states.push_back(s);
  }
  if (nfa.multi) nfa.states.push_back(Nfa::State{'.', false});  // the dot before "**"
  return nfa;
}

/// Epsilon closure: a '*' may match nothing.
void close(const Nfa& nfa, std::vector<uint32_t>& set) {
  for (size_t i = 0; i < set.size(); ++i) {
    uint32_t s = set[i];
    if (s < nfa.states.size() && nfa.states[s].loop &&
        std::find(set.begin(), set.end(), s + 1) == set.end())
      set.push_back(s + 1);
  }
  std::sort(set.begin(), set.end());
}

std::vector<uint32_t> step(const Nfa& nfa, const std::vector<uint32_t>& cur, char c) {
  const uint32_t n = static_cast<uint32_t>(nfa.states.size());
  std::vector<uint32_t> next;
  auto add = [&](uint32_t s) {
    if (std::find(next.begin(), next.end(), s) == next.end()) next.push_back(s);
  };
  for (uint32_t s : cur) {
    if (s < n) {
      const Nfa::State& st = nfa.states[s];
      if (st.loop ? star_char(c) : st.lit == c) add(st.loop ? s : s + 1);
    } else if (nfa.multi && s == n) {  // "**": start of a label, needs one star char
      if (star_char(c)) add(n + 1);
    } else if (nfa.multi && s == n + 1) {  // inside a "**" label
      if (star_char(c)) add(n + 1);
      if (c == '.') add(n);
    }
  }
  close(nfa, next);
  return next;
}

struct VecHash {
  size_t operator()(const std::vector<uint32_t>& v) const {
    size_t h = 1469598103934665603ull;
    for (uint32_t x : v) h = (h ^ x) * 1099511628211ull;
    return h;
  }
};

} // namespace

std::optional<FqdnPartition> partition_fqdns(const std::vector<FqdnMatch>& matches, size_t max_states) {
  FqdnPartition out;
  std::vector<uint32_t> lone;  // lone '*': matches every name, so it joins every class
  std::vector<uint32_t> ids;
  std::vector<Nfa> nfas;
  std::string alphabet = ".";
  for (uint32_t i = 0; i < matches.size(); ++i) {
    std::string v = canonical_fqdn(matches[i].value);
    if (matches[i].pattern && v == "*") {
      lone.push_back(i);
      continue;
    }
    ids.push_back(i);
    nfas.push_back(compile(matches[i]));
    for (char c : v)
      if (star_char(c) && alphabet.find(c) == std::string::npos) alphabet.push_back(c);
  }
  // Star characters that no match names behave identically: one of them stands for all.
  for (char c : std::string("abcdefghijklmnopqrstuvwxyz0123456789-_"))
    if (alphabet.find(c) == std::string::npos) {
      alphabet.push_back(c);
      break;
    }
  // Letters first, then digits, '-', '_' and '.': the BFS returns the first shortest name
  // in this order, so examples read like names ("a.s3.a.amazonaws.com").
  auto rank = [](char c) { return c >= 'a' && c <= 'z' ? 0 : c >= '0' && c <= '9' ? 1 : c == '.' ? 3 : 2; };
  std::sort(alphabet.begin(), alphabet.end(), [&](char a, char b) {
    return rank(a) != rank(b) ? rank(a) < rank(b) : a < b;
  });

  // Product state: [valid-name state, then (match, #states, states...) for live matches].
  // valid-name state: 0 = at the start of a label, 1 = inside a label.
  std::vector<uint32_t> init = {0};
  for (uint32_t k = 0; k < nfas.size(); ++k) {
    std::vector<uint32_t> s = {0};
    close(nfas[k], s);
    init.push_back(k);
    init.push_back(static_cast<uint32_t>(s.size()));
    init.insert(init.end(), s.begin(), s.end());
  }
  std::unordered_map<std::vector<uint32_t>, bool, VecHash> seen;
  std::map<std::vector<uint32_t>, std::string> found;
  std::deque<std::pair<std::vector<uint32_t>, std::string>> queue;
  seen.emplace(init, true);
  queue.emplace_back(init, "");
  while (!queue.empty()) {
    auto [state, reversed] = std::move(queue.front());
    queue.pop_front();
    if (state[0] == 1) {
      std::vector<uint32_t> vec;
      for (size_t i = 1; i < state.size();) {
        uint32_t k = state[i], n = state[i + 1];
        if (std::find(state.begin() + i + 2, state.begin() + i + 2 + n, nfas[k].accept()) !=
            state.begin() + i + 2 + n)
          vec.push_back(ids[k]);
        i += 2 + n;
      }
      if (!found.count(vec)) found.emplace(vec, std::string(reversed.rbegin(), reversed.rend()));
    }
    for (char c : alphabet) {
      std::vector<uint32_t> next;
      if (c == '.') {
        if (state[0] != 1) continue;  // no empty labels, no leading dot
        next.push_back(0);
      } else {
        next.push_back(1);
      }
      for (size_t i = 1; i < state.size();) {
        uint32_t k = state[i], n = state[i + 1];
        std::vector<uint32_t> cur(state.begin() + i + 2, state.begin() + i + 2 + n);
        std::vector<uint32_t> s = step(nfas[k], cur, c);
        if (!s.empty()) {
          next.push_back(k);
          next.push_back(static_cast<uint32_t>(s.size()));
          next.insert(next.end(), s.begin(), s.end());
        }
        i += 2 + n;
      }
      if (seen.emplace(next, true).second) {
        if (seen.size() > max_states) return std::nullopt;
        queue.emplace_back(std::move(next), reversed + c);
      }
    }
  }
  out.states_explored = seen.size();
  for (auto& [vec, example] : found) {
    NameClass nc;
    nc.matches = vec;
    nc.matches.insert(nc.matches.end(), lone.begin(), lone.end());
    std::sort(nc.matches.begin(), nc.matches.end());
    if (nc.matches.empty()) continue;  // a name matching nothing is like no name at all
    nc.example = example;
    out.classes.push_back(std::move(nc));
  }
  return out;
}

} // namespace moat::verify
