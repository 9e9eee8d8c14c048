// libcurl behind kube_client.h: one easy handle per request (a watch lives minutes, a LIST
// seconds; nothing is gained by pooling them), the token read again per request.
#include "runtime/inventory/kube_client.h"

#include <curl/curl.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

namespace moat::runtime::inventory {

namespace {

std::once_flag g_curl_init;

std::string trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

/// The host part of "scheme://host[:port][/...]" (brackets of an IPv6 literal removed).
std::string url_host(std::string_view rest) {
  rest = rest.substr(0, rest.find('/'));
  if (!rest.empty() && rest.front() == '[') return std::string(rest.substr(1, rest.find(']') - 1));
  return std::string(rest.substr(0, rest.find(':')));
}

/// One request's handle with the agent's common settings; nullptr (and `error`) when the
/// token cannot be read.
struct Request {
  CURL* h = nullptr;
  curl_slist* headers = nullptr;
  ~Request() {
    if (headers) curl_slist_free_all(headers);
    if (h) curl_easy_cleanup(h);
  }
};

bool prepare(Request& r, const KubeConfig& c, const std::string& path, std::string& error) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  r.h = curl_easy_init();
  if (!r.h) return error = "curl_easy_init failed", false;
  std::string url = c.base_url + path;
  curl_easy_setopt(r.h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(r.h, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
  curl_easy_setopt(r.h, CURLOPT_CONNECTTIMEOUT, 5L);
  curl_easy_setopt(r.h, CURLOPT_TCP_KEEPALIVE, 1L);  // a dead peer ends a quiet watch
  curl_easy_setopt(r.h, CURLOPT_TCP_KEEPIDLE, 15L);
  curl_easy_setopt(r.h, CURLOPT_TCP_KEEPINTVL, 5L);
  curl_easy_setopt(r.h, CURLOPT_ACCEPT_ENCODING, "");  // gzip: a cluster's LIST shrinks ~10x
  curl_easy_setopt(r.h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(r.h, CURLOPT_FOLLOWLOCATION, 0L);
  if (!c.ca_file.empty()) curl_easy_setopt(r.h, CURLOPT_CAINFO, c.ca_file.c_str());
  r.headers = curl_slist_append(r.headers, "Accept: application/json");
  if (!c.token_file.empty()) {
    std::ifstream in(c.token_file);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string token = trim(ss.str());
    if (!in || token.empty()) return error = "cannot read the API token " + c.token_file, false;
    if (token.find_first_of("\r\n") != std::string::npos) return error = "the API token holds a line break", false;
    r.headers = curl_slist_append(r.headers, ("Authorization: Bearer " + token).c_str());
  }
  curl_easy_setopt(r.h, CURLOPT_HTTPHEADER, r.headers);
  return true;
}

HttpResult finish(Request& r, CURLcode rc, const std::string& body_if_error) {
  HttpResult res;
  curl_easy_getinfo(r.h, CURLINFO_RESPONSE_CODE, &res.status);
  res.aborted = rc == CURLE_ABORTED_BY_CALLBACK;
  if (rc != CURLE_OK) {
    res.status = 0;  // no complete response
    res.error = curl_easy_strerror(rc);
  } else if (res.status != 200) {
    res.error = "HTTP " + std::to_string(res.status) + ": " + body_if_error.substr(0, 512);
  }
  return res;
}

} // namespace

std::optional<KubeConfig> kube_config(const std::string& spec, const std::string& token_file,
                                      const std::string& ca_file, std::string& error) {
  KubeConfig c;
  c.token_file = token_file;
  c.ca_file = ca_file;
  if (spec == "in-cluster") {
    const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
    const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port) {
      error = "--kube-api in-cluster: KUBERNETES_SERVICE_HOST/PORT are not set (not running in a pod?)";
      return std::nullopt;
    }
    std::string h = host;
    if (h.find(':') != std::string::npos) h = "[" + h + "]";
    c.base_url = "https://" + h + ":" + port;
    if (c.token_file.empty()) c.token_file = std::string(kServiceAccountDir) + "/token";
    if (c.ca_file.empty()) c.ca_file = std::string(kServiceAccountDir) + "/ca.crt";
    return c;
  }
  std::string url = spec;
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.rfind("https://", 0) == 0) {
    c.base_url = url;
  } else if (url.rfind("http://", 0) == 0) {
    std::string host = url_host(std::string_view(url).substr(7));
    if (host != "127.0.0.1" && host != "::1" && host != "localhost") {
      error = "--kube-api " + spec + ": plain http is accepted only on loopback (the token would cross the network in clear)";
      return std::nullopt;
    }
    c.base_url = url;
  } else {
    error = "--kube-api " + spec + ": expected in-cluster, https://HOST[:PORT] or http://127.0.0.1:PORT";
    return std::nullopt;
  }
  return c;
}

namespace {

/// keep_going() asked by libcurl at least once a second, also while nothing arrives.
void ask_while_running(CURL* h, const std::function<bool()>& keep_going) {
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &keep_going);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, +[](void* ud, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> int {
    return (*static_cast<const std::function<bool()>*>(ud))() ? 0 : 1;
  });
}

} // namespace

HttpResult KubeClient::get(const std::string& path, std::string& body, const std::function<bool()>& keep_going,
                           size_t max_bytes) const {
  Request r;
  std::string error;
  if (!prepare(r, config_, path, error)) return HttpResult{0, error, false};
  struct Sink {
    std::string* body;
    size_t max;
  } sink{&body, max_bytes};
  body.clear();
  curl_easy_setopt(r.h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(r.h, CURLOPT_WRITEFUNCTION, +[](char* p, size_t, size_t n, void* ud) -> size_t {
    auto* s = static_cast<Sink*>(ud);
    if (s->body->size() + n > s->max) return 0;
    s->body->append(p, n);
    return n;
  });
  // A LIST of a large cluster takes seconds; a stalled one is given up after 30 s.
  curl_easy_setopt(r.h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(r.h, CURLOPT_LOW_SPEED_TIME, 30L);
  if (keep_going) ask_while_running(r.h, keep_going);
  CURLcode rc = curl_easy_perform(r.h);
  return finish(r, rc, body);
}

HttpResult KubeClient::stream(const std::string& path, const std::function<void(std::string_view)>& on_line,
                              const std::function<bool()>& keep_going, size_t max_line) const {
  Request r;
  std::string error;
  if (!prepare(r, config_, path, error)) return HttpResult{0, error, false};
  struct Sink {
    CURL* h;
    const std::function<void(std::string_view)>* on_line;
    const std::function<bool()>* keep_going;
    size_t max_line;
    std::string pending, error_body;
  } sink{r.h, &on_line, &keep_going, max_line, {}, {}};
  curl_easy_setopt(r.h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(r.h, CURLOPT_WRITEFUNCTION, +[](char* p, size_t, size_t n, void* ud) -> size_t {
    auto* s = static_cast<Sink*>(ud);
    long status = 0;
    curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {  // an error Status object: keep its start for the message
      if (s->error_body.size() < 4096) s->error_body.append(p, std::min<size_t>(n, 4096));
      return n;
    }
    if (!(*s->keep_going)()) return 0;
    std::string_view in(p, n);
    while (!in.empty()) {
      size_t nl = in.find('\n');
      if (nl == std::string_view::npos) {
        if (s->pending.size() + in.size() > s->max_line) return 0;
        s->pending.append(in);
        break;
      }
      if (s->pending.empty()) {
        (*s->on_line)(in.substr(0, nl));
      } else {
        s->pending.append(in.substr(0, nl));
        (*s->on_line)(s->pending);
        s->pending.clear();
      }
      in.remove_prefix(nl + 1);
    }
    return n;
  });
  ask_while_running(r.h, keep_going);
  CURLcode rc = curl_easy_perform(r.h);
  HttpResult res = finish(r, rc, sink.error_body);
  if (rc == CURLE_WRITE_ERROR) {  // the write callback said stop: asked to, or a line too long
    res.aborted = !keep_going();
    if (!res.aborted) res.error = "a line longer than " + std::to_string(max_line) + " bytes";
  }
  return res;
}

} // namespace moat::runtime::inventory
