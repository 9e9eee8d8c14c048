// The agent's side of its cluster source (runtime/inventory/cluster_source.h): taking the
// node and inventory it holds, and turning a stale watched inventory into a status error,
// a metric and not-ready (enforcement keeps the last good state meanwhile).
#include "runtime/agent/agent_impl.h"

namespace moat::runtime::agent::impl {

inventory::ClusterSource::Poll Agent::load_cluster(bool first) {
  using Poll = inventory::ClusterSource::Poll;
  auto report = [this](const SourceManager& sm, const Diagnostics& d) {
    if (hooks_.diagnostics) hooks_.diagnostics(sm, d);
  };
  Poll p = first ? (cluster_->load(report) ? Poll::Changed : Poll::Invalid) : cluster_->poll(report);
  if (first) cluster_health_ = cluster_->health();
  if (p == Poll::Unchanged) return p;
  // The watched inventory changes in place: the attach points found and the desired
  // endpoints point into it (reconcile derives them again at once).
  found_.clear();
  desired_.endpoints.clear();
  desired_.locals.clear();
  node_ = cluster_->node();
  inv_ = cluster_->inventory();
  report_plan_ |= p == Poll::Changed;
  if (inv_) {  // the drop log names addresses from the current inventory
    auto names = std::make_shared<const PodNames>(pod_names(*inv_, cluster_->live_addresses()));
    std::lock_guard names_lk(names_mu_);
    pod_names_ = std::move(names);
  }
  return p;
}

void Agent::check_cluster_health() {
  inventory::SourceHealth h = cluster_->health();
  if (h.stale != cluster_health_.stale) {  // the status shows the current reason
    if (h.stale) {
      errors_.push_back("inventory stale (enforcing the last good state; not ready): " + h.why);
      log(errors_.back());
    } else {
      log("inventory current again");
    }
    status_dirty_ = true;
  }
  cluster_health_ = std::move(h);
}

} // namespace moat::runtime::agent::impl
