// DOT and SVG forms of `moat list` (see list_graph.h). SVG comes from running Graphviz's
// `dot` program rather than linking libgvc: the layout engine stays out of moat's process
// (a crash in it is reported, not shared), moat's binary
// needs no Graphviz unless SVG is asked for, and what users run by hand on the DOT output
// is exactly what moat runs.
#include "cli/list_graph.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>

#include <fmt/format.h>

extern char** environ;

namespace moat::cli {

namespace {

/// A DOT double-quoted string.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\n') {
      out += "\\n"; // DOT's line break
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string node_line(const ListNode& n, const std::string& indent) {
  if (n.external)
    return fmt::format("{}{} [label={} shape=box color=\"red2\" fontcolor=\"red2\"]\n", indent,
                       quoted(n.name), quoted(n.label));
  if (!n.connected)
    return fmt::format("{}{} [label={} style=dashed color=\"gray50\" fontcolor=\"gray50\"]\n",
                       indent, quoted(n.name), quoted(n.label + "\n(no connections)"));
  return fmt::format("{}{} [label={} color=\"blue\" fontcolor=\"blue\"]\n", indent, quoted(n.name),
                     quoted(n.label));
}

} // namespace

std::string list_dot(const ConnList& l) {
  std::string out = "digraph {\n\trankdir=LR\n\tfontname=\"Helvetica\"\n\tnode "
                    "[fontname=\"Helvetica\"]\n\tedge [fontname=\"Helvetica\" fontsize=10]\n";
  std::map<std::string, std::vector<const ListNode*>> by_ns;
  for (const ListNode& n : l.nodes)
    if (!n.external) by_ns[n.ns].push_back(&n);
  size_t cluster = 0;
  for (const auto& [ns, nodes] : by_ns) {
    // Cluster ids are numbered: namespace names need not be DOT identifiers.
    out += fmt::format("\tsubgraph cluster_{} {{\n\t\tlabel={}\n", cluster++, quoted(ns));
    for (const ListNode* n : nodes)
      out += node_line(*n, "\t\t");
    out += "\t}\n";
  }
  // Ranges no entry touches are left out; workloads are always drawn (unconnected ones marked).
  for (const ListNode& n : l.nodes)
    if (n.external && n.connected) out += node_line(n, "\t");
  for (const ListEntry& e : l.entries) {
    if (e.conns.empty()) continue;
    out += fmt::format("\t{} -> {} [label={} color=\"gold2\" fontcolor=\"darkgreen\"]\n",
                       quoted(l.nodes[e.src].name), quoted(l.nodes[e.dst].name),
                       quoted(e.conns.str()));
  }
  return out + "}\n";
}

std::optional<std::string> list_svg(const ConnList& l, std::string& error) {
  char in_path[] = "/tmp/moat-list-XXXXXX";
  int in_fd = mkstemp(in_path);
  if (in_fd < 0) return error = "cannot create a temporary file for Graphviz", std::nullopt;
  std::string dot = list_dot(l);
  bool written = write(in_fd, dot.data(), dot.size()) == static_cast<ssize_t>(dot.size());
  close(in_fd);
  int pipe_fd[2];
  if (!written || pipe(pipe_fd) != 0) {
    unlink(in_path);
    return error = "cannot hand the graph to Graphviz", std::nullopt;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipe_fd[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, pipe_fd[0]);
  char arg0[] = "dot", arg1[] = "-Tsvg";
  char* argv[] = {arg0, arg1, in_path, nullptr};
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, "dot", &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(pipe_fd[1]);
  std::string svg;
  if (rc == 0) {
    char buf[65536];
    ssize_t n;
    while ((n = read(pipe_fd[0], buf, sizeof buf)) > 0)
      svg.append(buf, static_cast<size_t>(n));
  }
  close(pipe_fd[0]);
  int status = 0;
  if (rc == 0) waitpid(pid, &status, 0);
  unlink(in_path);
  if (rc != 0)
    return error = "cannot run Graphviz's 'dot' (install the Debian package graphviz, or use "
                   "--format dot)",
           std::nullopt;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || svg.empty())
    return error = fmt::format("Graphviz's 'dot -Tsvg' failed (status {})", status), std::nullopt;
  return svg;
}

} // namespace moat::cli
