// The verifier's part of `moat check` (solver lints and `prove` statements) and the
// rendering of verifier results shared by check, diff and query: text (colour on a
// terminal), JSON, SARIF results and JUnit test cases.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/format_junit.h"
#include "cli/format_sarif.h"
#include "frontend/cases.h"
#include <memory>

#include "ir/diagnostic.h"
#include "ir/run_clock.h"
#include "ir/source.h"
#include "verifier/verifier.h"

namespace moat::cli {

struct VerifyCliOptions {
  unsigned timeout_ms = 10000;
  std::string inventory;  // a cases file or Kubernetes objects: the inventory scope
  bool no_prove = false;
  bool no_solver_lints = false;
  double deadline_s = 0;  // the whole run; 0: none
  bool progress = false;  // show progress even when stderr is not a terminal
  bool timings = false;   // solver seconds in JSON output
  /// The run's clock for these options (progress on a terminal, or always with --progress).
  std::unique_ptr<RunClock> make_clock() const;
};

/// Adds --timeout, --inventory, --no-prove, --no-solver-lints, --deadline, --progress, --timings to `cmd`.
void add_verify_options(CLI::App* cmd, VerifyCliOptions& o);
/// Adds --deadline, --progress and --timings alone (commands with their own --timeout / --inventory).
void add_run_clock_options(CLI::App* cmd, VerifyCliOptions& o);

struct CheckVerification {
  bool ran = false;
  ProofReport proofs;
  std::string internal_error;
  std::optional<CasesFile> inventory;
};

/// Runs the solver lints into `diags` and then every `prove` statement, over `inventory`
/// when --inventory was given (the caller loaded it: nullopt then means it was invalid, and
/// nothing runs). `indexes`: m's subject indexes, when the caller built them.
CheckVerification verify_for_check(const Module& m, std::optional<CasesFile> inventory, Diagnostics& diags,
                                   const VerifyCliOptions& o, RunClock* clock = nullptr,
                                   const ModuleIndexes* indexes = nullptr);
/// 3 on an internal error, 1 when a proof failed or is unknown, else 0.
int verification_exit_code(const CheckVerification& v);

/// `moat check --format sarif|junit`: diagnostics and proofs in one document on stdout.
/// JUnit: one test case per proof, plus one per file for its diagnostics.
/// JUnit: a file's lint case fails on its errors, and on its warnings only with `werror`
/// (the exit code's rule); otherwise the warnings are its <system-out>.
void print_check_report(const std::string& format, bool werror, const Module& m, const SourceManager& sm, const Diagnostics& diags,
                        const CheckVerification& v, const std::vector<std::string>& inputs);

/// "src: ...", "dst: ...", the flow and the interpreter's explanation, each line indented.
std::string witness_text(const Module& m, const SourceManager& sm, const Witness& w, const std::string& indent);
nlohmann::json witness_json(const Module& m, const SourceManager& sm, const Witness& w);
/// One direction's decision: allowed, why, the deciding rules and isolations with their
/// source locations, and the Pass rule that handed it down (`passedBy`), if any.
nlohmann::json decision_json(const Module& m, const SourceManager& sm, const Decision& d);
nlohmann::json endpoint_json(const Endpoint& e);

std::string proofs_text(const Module& m, const SourceManager& sm, const ProofReport& r, bool color);
/// With `timings`, each proof also carries its solver seconds (off by default: JSON output
/// is the same for the same inputs).
nlohmann::json proofs_json(const Module& m, const SourceManager& sm, const ProofReport& r, bool timings);
std::vector<SarifResult> proofs_sarif(const Module& m, const SourceManager& sm, const ProofReport& r);
std::vector<JunitCase> proofs_junit(const Module& m, const SourceManager& sm, const ProofReport& r);

} // namespace moat::cli
