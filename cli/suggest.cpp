// Did-you-mean suggestions for mistyped commands and options (see suggest.h).
#include "cli/suggest.h"

#include <algorithm>

namespace moat::cli {

size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment: Levenshtein plus swaps of two neighbours.
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates) {
  // Dashes do not count towards the length: "--fmt" is a three-letter word.
  size_t letters = word.size() - std::min(word.find_first_not_of('-'), word.size());
  size_t limit = letters <= 4 ? 1 : 2;
  std::optional<std::string> best;
  size_t best_d = limit + 1;
  bool tie = false;
  for (const std::string& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_d) best = c, best_d = d, tie = false;
    else if (d == best_d) tie = true;
  }
  if (best && !tie) return best;
  std::optional<std::string> prefixed;
  for (const std::string& c : candidates)
    if (c.size() > word.size() && c.compare(0, word.size(), word) == 0 && letters >= 2) {
      if (prefixed) return std::nullopt;
      prefixed = c;
    }
  return prefixed;
}

namespace {

std::vector<std::string> subcommand_names(const CLI::App& app) {
  std::vector<std::string> out;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) out.push_back(sub->get_name());
  return out;
}

std::vector<std::string> option_names(const CLI::App& sub) {
  std::vector<std::string> out;
  for (const CLI::Option* o : sub.get_options()) {
    for (const std::string& l : o->get_lnames()) out.push_back("--" + l);
    for (const std::string& s : o->get_snames()) out.push_back("-" + s);
  }
  return out;
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : ", ") + w;
  return out;
}

} // namespace

std::optional<std::string> usage_hint(const CLI::App& app, int argc, const char* const* argv) {
  int i = 1;
  while (i < argc && argv[i][0] == '-') ++i;  // global flags (--help, --version)
  if (i >= argc) return std::nullopt;
  std::string word = argv[i];
  std::vector<std::string> commands = subcommand_names(app);
  if (std::find(commands.begin(), commands.end(), word) == commands.end()) {
    std::string msg = "unknown command '" + word + "'";
    if (auto c = closest(word, commands)) return msg + "; did you mean '" + *c + "'?";
    return msg + "; commands: " + join(commands);
  }
  std::vector<const CLI::App*> subs = app.get_subcommands([&word](const CLI::App* a) { return a->get_name() == word; });
  if (subs.empty()) return std::nullopt;
  const CLI::App* sub = subs.front();
  std::vector<std::string> names = option_names(*sub);
  for (int j = i + 1; j < argc; ++j) {
    std::string arg = argv[j];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-' || (arg[1] >= '0' && arg[1] <= '9')) continue;
    std::string name = arg.substr(0, arg.find('='));
    if (arg[1] != '-') name = arg.substr(0, 2);  // -oFORMAT, -q
    if (std::find(names.begin(), names.end(), name) != names.end()) continue;
    std::string msg = "unknown option '" + name + "' for 'moat " + word + "'";
    if (auto c = closest(name, names)) return msg + "; did you mean '" + *c + "'?";
    return msg + " (moat " + word + " --help lists them)";
  }
  return std::nullopt;
}

} // namespace moat::cli
