// A read-only client of the Kubernetes API server over HTTP(S) (libcurl): one GET with the
// whole body, or one streaming GET handed over line by line (a watch). Where the server is
// and how the agent authenticates comes from in-cluster configuration (KUBERNETES_SERVICE_
// HOST/PORT, the service account's token and CA) or from a URL; the bearer token is read
// again for every request, so a rotated token is used as soon as kubelet writes it.
#pragma once
#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace moat::runtime::inventory {

struct KubeConfig {
  std::string base_url;    // "https://10.96.0.1:443", no trailing slash
  std::string token_file;  // "" : no Authorization header
  std::string ca_file;     // "" : the system's CA store
};

inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

/// `spec` is "in-cluster" or a URL. Plain http:// is accepted only for a loopback host
/// (127.0.0.1, ::1, localhost: the tests' fake API server), so a token never crosses the
/// network in clear. Empty token/CA files take the service account's for in-cluster.
std::optional<KubeConfig> kube_config(const std::string& spec, const std::string& token_file,
                                      const std::string& ca_file, std::string& error);

/// What one request ended with. `status` is the HTTP status (0: no response: connection
/// refused, reset, timed out, or stopped by the caller).
struct HttpResult {
  long status = 0;
  std::string error;  // transport error or the server's message ("" on success)
  bool aborted = false;  // the caller's keep_going() said stop
};

class KubeClient {
public:
  explicit KubeClient(KubeConfig config) : config_(std::move(config)) {}
  /// GET base_url + path; the body (bounded by max_bytes) into `body`. keep_going (if
  /// given) is asked as in stream().
  HttpResult get(const std::string& path, std::string& body, const std::function<bool()>& keep_going = {},
                 size_t max_bytes = size_t(1) << 31) const;
  /// Streaming GET: every complete line of the body goes to on_line as it arrives (a line
  /// longer than max_line fails the request). keep_going() is asked at least once a second,
  /// also while the stream is quiet; false ends the request (aborted).
  HttpResult stream(const std::string& path, const std::function<void(std::string_view)>& on_line,
                    const std::function<bool()>& keep_going, size_t max_line = size_t(64) << 20) const;
  const KubeConfig& config() const { return config_; }

private:
  KubeConfig config_;
};

} // namespace moat::runtime::inventory
