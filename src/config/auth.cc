// The `auth:`, `consumers:` and `cors:` sections, and the per-route access policy.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "config/sections.h"
#include "core/strings.h"
#include "http/parser.h"

namespace portico::config {
namespace {

namespace json = boost::json;

bool read_file_text(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

bool read_strings(Context& ctx, MapReader& m, const char* key, std::vector<std::string>& out) {
  YAML::Node n = m.get(key);
  return !n.IsDefined() || ctx.read_string_list(n, m.path_of(key), out);
}

// A YAML mapping of scalars (and lists of scalars) as a JSON object: the shape of a JWK.
json::object to_json_object(const YAML::Node& n) {
  json::object o;
  for (auto it = n.begin(); it != n.end(); ++it) {
    YAML::Node v = it->second;  // a copy: it->second belongs to a temporary
    if (v.IsSequence()) {
      json::array a;
      for (const YAML::Node& item : v) a.emplace_back(item.IsScalar() ? item.Scalar() : std::string());
      o[it->first.Scalar()] = std::move(a);
    } else if (v.IsScalar()) {
      o[it->first.Scalar()] = v.Scalar();
    }
  }
  return o;
}

std::optional<jose::Alg> read_alg(Context& ctx, const YAML::Node& n, const std::string& path) {
  std::string text;
  if (!ctx.read_string(n, path, text)) return std::nullopt;
  auto alg = jose::parse_alg(text);
  if (!alg) {
    ctx.error(n, path, fmt::format("unknown algorithm \"{}\" (HS256/384/512, RS256/384/512, PS256/384/512, "
                                   "ES256/384/512, EdDSA; \"none\" is never accepted)", text));
  }
  return alg;
}

bool has_key(const YAML::Node& map, std::string_view key) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.Scalar() == key) return true;
  }
  return false;
}

// One configured key: a JWK mapping, a PEM string, {pem, alg, kid} or {secret | secret_env, alg, kid}.
void read_key(Context& ctx, const YAML::Node& n, const std::string& path, std::vector<std::shared_ptr<const jose::Key>>& out) {
  Result<std::shared_ptr<const jose::Key>> key = Error{""};
  if (n.IsScalar()) {
    key = jose::Key::from_pem(n.Scalar(), std::nullopt);
  } else if (n.IsMap() && has_key(n, "kty")) {
    key = jose::Key::from_jwk(to_json_object(n));
  } else if (n.IsMap()) {
    MapReader m(ctx, n, path);
    std::optional<jose::Alg> alg;
    if (auto a = m.get("alg"); a.IsDefined()) alg = read_alg(ctx, a, m.path_of("alg"));
    std::string kid;
    if (auto k = m.get("kid"); k.IsDefined()) ctx.read_string(k, m.path_of("kid"), kid);
    YAML::Node pem = m.get("pem"), secret = m.get("secret"), secret_env = m.get("secret_env");
    int given = pem.IsDefined() + secret.IsDefined() + secret_env.IsDefined();
    if (given != 1) {
      ctx.error(n, path, "a key is a JWK (with \"kty\"), a PEM string, or one of: pem, secret, secret_env");
      return;
    }
    if (pem.IsDefined()) {
      std::string text;
      if (!ctx.read_string(pem, m.path_of("pem"), text)) return;
      key = jose::Key::from_pem(text, alg, kid);
    } else {
      if (!alg) {
        ctx.error(n, path, "a secret needs \"alg\" (HS256, HS384 or HS512)");
        return;
      }
      std::string value;
      if (secret.IsDefined()) {
        if (!ctx.read_string(secret, m.path_of("secret"), value)) return;
      } else {
        std::string var;
        if (!ctx.read_string(secret_env, m.path_of("secret_env"), var)) return;
        const char* v = std::getenv(var.c_str());
        if (v == nullptr || *v == '\0') {
          ctx.error(secret_env, m.path_of("secret_env"), fmt::format("the environment variable {} is not set", var));
          return;
        }
        value = v;
      }
      key = jose::Key::from_secret(std::move(value), *alg, kid);
    }
  } else {
    ctx.error(n, path, "expected a JWK mapping, a PEM string, or {pem | secret | secret_env, alg, kid}");
    return;
  }
  if (!key) {
    ctx.error(n, path, key.error().message);
    return;
  }
  out.push_back(std::move(*key));
}

bool read_sources(Context& ctx, const YAML::Node& n, const std::string& path, std::vector<CredentialSource>& out) {
  std::vector<std::string> list;
  if (!ctx.read_string_list(n, path, list)) return false;
  out.clear();
  for (const auto& text : list) {
    CredentialSource s;
    s.text = text;
    size_t colon = text.find(':');
    std::string kind = to_lower(text.substr(0, colon));
    std::string name = colon == std::string::npos ? "" : text.substr(colon + 1);
    if (kind == "bearer" && colon == std::string::npos) {
      s.kind = CredentialSource::Kind::kBearer;
    } else if ((kind == "header" || kind == "cookie" || kind == "query") && !name.empty()) {
      s.kind = kind == "header" ? CredentialSource::Kind::kHeader
               : kind == "cookie" ? CredentialSource::Kind::kCookie
                                  : CredentialSource::Kind::kQuery;
      s.name = kind == "header" ? to_lower(name) : name;
    } else {
      ctx.error(n, path, fmt::format("\"{}\": expected bearer, header:NAME, cookie:NAME or query:NAME", text));
      continue;
    }
    out.push_back(std::move(s));
  }
  if (out.empty()) ctx.error(n, path, "needs at least one place to read the credential from");
  return true;
}

bool valid_header_name(std::string_view name);

// {name: Header-Name}: values (claims, an authorizer's context) passed to the upstream.
void read_forwards(Context& ctx, const YAML::Node& v, const std::string& path, const char* what,
                   std::vector<std::pair<std::string, std::string>>& out) {
  if (!v.IsMap()) {
    ctx.error(v, path, fmt::format("expected a mapping of {} names to header names", what));
    return;
  }
  for (auto it = v.begin(); it != v.end(); ++it) {
    std::string header;
    std::string p = path + "." + it->first.Scalar();
    if (!ctx.read_string(it->second, p, header)) continue;
    http::HeaderId id = http::classify_header(header);
    if (!valid_header_name(header)) ctx.error(it->second, p, "invalid header name");
    else if (http::is_hop_by_hop(id) || id == http::HeaderId::kHost || id == http::HeaderId::kContentLength)
      ctx.error(it->second, p, fmt::format("this header cannot carry a {}", what));
    else out.emplace_back(it->first.Scalar(), header);
  }
}

// {function, type: request|token, identity: [...], cache_ttl, response: simple|iam, forward}
void read_authorizer(Context& ctx, const Config& cfg, const YAML::Node& n, const std::string& path,
                     AuthorizerMethod& a) {
  MapReader m(ctx, n, path);
  if (!m.valid()) return;
  if (auto v = m.get("function"); !v.IsDefined()) {
    ctx.error(n, path, "missing key \"function\" (the function that decides)");
  } else {
    a.function = function_index(ctx, cfg, v, m.path_of("function"));
  }
  if (auto v = m.get("type"); v.IsDefined()) {
    std::string t;
    if (ctx.read_string(v, m.path_of("type"), t)) {
      t = to_lower(t);
      if (t == "token") a.token_type = true;
      else if (t != "request") ctx.error(v, m.path_of("type"), "expected request or token");
    }
  }
  if (auto v = m.get("identity"); v.IsDefined()) {
    read_sources(ctx, v, m.path_of("identity"), a.identity);
    if (a.token_type && a.identity.size() > 1) ctx.error(v, m.path_of("identity"), "a token authorizer reads one identity source");
  } else {
    CredentialSource s;
    s.kind = CredentialSource::Kind::kHeader;
    s.name = "authorization";
    s.text = "header:authorization";
    a.identity.push_back(s);
  }
  if (auto v = m.get("cache_ttl"); v.IsDefined()) {
    bool zero = v.IsScalar() && (v.Scalar() == "0" || v.Scalar() == "0s" || v.Scalar() == "off");
    if (zero) a.cache_ttl_ms = 0;
    else if (ctx.read_duration(v, m.path_of("cache_ttl"), a.cache_ttl_ms) && a.cache_ttl_ms > 3'600'000) {
      ctx.error(v, m.path_of("cache_ttl"), "must be at most 1h (API Gateway's limit)");
    }
  }
  if (auto v = m.get("response"); v.IsDefined()) {
    std::string r;
    if (ctx.read_string(v, m.path_of("response"), r)) {
      if (r == "iam") a.simple_response = false;
      else if (r != "simple") ctx.error(v, m.path_of("response"), "expected simple ({isAuthorized, context}) or iam (a policy document)");
    }
  }
  if (a.token_type && m.has("response") && a.simple_response) {
    ctx.error(m.get("response"), m.path_of("response"), "a token authorizer answers with an IAM policy (response: iam)");
  }
  if (a.token_type) a.simple_response = false;
  if (auto v = m.get("forward"); v.IsDefined()) read_forwards(ctx, v, m.path_of("forward"), "context value", a.forward_context);
}

bool valid_header_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), http::is_tchar);
}

bool parse_jwks_url(Context& ctx, const YAML::Node& url, const std::string& path, RemoteJwks& r) {
  if (!ctx.read_string(url, path, r.url)) return false;
  std::string_view rest = r.url;
  if (rest.substr(0, 8) == "https://") {
    r.tls = true;
    rest.remove_prefix(8);
  } else if (rest.substr(0, 7) == "http://") {
    rest.remove_prefix(7);
  } else {
    ctx.error(url, path, "expected http(s)://host[:port]/path");
    return false;
  }
  size_t slash = rest.find('/');
  std::string hostport(rest.substr(0, slash));
  r.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  r.host = hostport;
  size_t colon = hostport.rfind(':');
  bool has_port = colon != std::string::npos && hostport.back() != ']';
  r.server_name = has_port ? hostport.substr(0, colon) : hostport;
  if (r.server_name.size() > 2 && r.server_name.front() == '[') r.server_name = r.server_name.substr(1, r.server_name.size() - 2);
  std::optional<uint64_t> port = has_port ? parse_u64(std::string_view(hostport).substr(colon + 1))
                                          : std::optional<uint64_t>(r.tls ? 443 : 80);
  if (r.server_name.empty() || !port || *port == 0 || *port > 65535) {
    ctx.error(url, path, fmt::format("\"{}\": expected http(s)://host[:port]/path", r.url));
    return false;
  }
  r.connect_host = r.server_name;
  r.port = static_cast<uint16_t>(*port);
  return true;
}

// "http(s)://..." or {url, refresh, min_refetch, timeout, ca_file}. (Nodes are bound
// once: yaml-cpp assigns through a node that refers into the tree.)
void read_remote_jwks(Context& ctx, const YAML::Node& n, const std::string& path, const std::string& base_dir,
                      RemoteJwks& r) {
  if (!n.IsMap()) {
    parse_jwks_url(ctx, n, path, r);
    return;
  }
  MapReader m(ctx, n, path);
  YAML::Node url = m.get("url");
  if (!url.IsDefined()) {
    ctx.error(n, path, "missing key \"url\"");
    return;
  }
  parse_jwks_url(ctx, url, m.path_of("url"), r);
  if (auto v = m.get("refresh"); v.IsDefined()) ctx.read_duration(v, m.path_of("refresh"), r.refresh_ms);
  if (auto v = m.get("min_refetch"); v.IsDefined()) ctx.read_duration(v, m.path_of("min_refetch"), r.min_refetch_ms);
  if (auto v = m.get("timeout"); v.IsDefined()) ctx.read_duration(v, m.path_of("timeout"), r.timeout_ms);
  if (auto v = m.get("ca_file"); v.IsDefined() && ctx.read_string(v, m.path_of("ca_file"), r.ca_file)) {
    r.ca_file = resolve_path(r.ca_file, base_dir);
    if (!r.tls) ctx.error(v, m.path_of("ca_file"), "only used with an https URL");
    else if (access(r.ca_file.c_str(), R_OK) != 0) ctx.error(v, m.path_of("ca_file"), fmt::format("cannot read \"{}\"", r.ca_file));
  }
}

void read_jwt(Context& ctx, Config& cfg, const YAML::Node& n, const std::string& path, const std::string& base_dir,
              JwtMethod& j) {
  MapReader m(ctx, n, path);
  if (!m.valid()) return;
  j.from = {CredentialSource{}};
  j.from[0].text = "bearer";
  read_strings(ctx, m, "issuer", j.rules.issuers);
  read_strings(ctx, m, "issuers", j.rules.issuers);
  read_strings(ctx, m, "audience", j.rules.audiences);
  read_strings(ctx, m, "audiences", j.rules.audiences);
  read_strings(ctx, m, "required_claims", j.rules.required);
  if (auto v = m.get("typ"); v.IsDefined()) ctx.read_string(v, m.path_of("typ"), j.rules.typ);
  if (auto v = m.get("leeway"); v.IsDefined()) {
    int64_t ms;
    if (ctx.read_duration(v, m.path_of("leeway"), ms)) j.rules.leeway_s = ms / 1000;
  } else {
    j.rules.leeway_s = 30;
  }
  if (auto v = m.get("max_age"); v.IsDefined()) {
    int64_t ms;
    if (ctx.read_duration(v, m.path_of("max_age"), ms)) j.rules.max_age_s = ms / 1000;
  }
  if (auto v = m.get("keys"); v.IsDefined()) {
    if (!v.IsSequence()) {
      ctx.error(v, m.path_of("keys"), "expected a list of keys (JWK mappings or PEM strings)");
    } else {
      for (size_t i = 0; i < v.size(); ++i) read_key(ctx, v[i], fmt::format("{}[{}]", m.path_of("keys"), i), j.keys);
    }
  }
  if (auto v = m.get("jwks_file"); v.IsDefined() && ctx.read_string(v, m.path_of("jwks_file"), j.jwks_file)) {
    j.jwks_file = resolve_path(j.jwks_file, base_dir);
    cfg.other_files.push_back(j.jwks_file);
    std::string text;
    if (!read_file_text(j.jwks_file, text)) {
      ctx.error(v, m.path_of("jwks_file"), fmt::format("cannot read \"{}\": {}", j.jwks_file, strerror(errno)));
    } else {
      std::vector<std::string> skipped;
      auto set = jose::parse_jwks(text, &skipped);
      if (!set) {
        ctx.error(v, m.path_of("jwks_file"), fmt::format("{}: {}", j.jwks_file, set.error().message));
      } else {
        j.keys.insert(j.keys.end(), set->keys().begin(), set->keys().end());
      }
    }
  }
  if (auto v = m.get("jwks_url"); v.IsDefined()) {
    RemoteJwks r;
    read_remote_jwks(ctx, v, m.path_of("jwks_url"), base_dir, r);
    j.jwks_url = std::move(r);
  }
  if (j.keys.empty() && !j.jwks_url && j.jwks_file.empty()) {
    ctx.error(n, path, "needs keys: keys (inline), jwks_file or jwks_url");
  }
  if (auto v = m.get("algorithms"); v.IsDefined()) {
    std::vector<std::string> names;
    if (ctx.read_string_list(v, m.path_of("algorithms"), names)) {
      for (const auto& name : names) {
        auto alg = jose::parse_alg(name);
        if (alg) j.algorithms.push_back(*alg);
        else ctx.error(v, m.path_of("algorithms"), fmt::format("unknown algorithm \"{}\"", name));
      }
    }
  }
  if (auto v = m.get("from"); v.IsDefined()) read_sources(ctx, v, m.path_of("from"), j.from);
  if (auto v = m.get("forward_claims"); v.IsDefined()) read_forwards(ctx, v, m.path_of("forward_claims"), "claim", j.forward_claims);
  if (auto v = m.get("strip_token"); v.IsDefined()) ctx.read_bool(v, m.path_of("strip_token"), j.strip_token);
  if (auto v = m.get("scopes_claim"); v.IsDefined()) ctx.read_string(v, m.path_of("scopes_claim"), j.scopes_claim);
  if (auto v = m.get("consumer_claim"); v.IsDefined()) ctx.read_string(v, m.path_of("consumer_claim"), j.consumer_claim);
  if (auto v = m.get("cache"); v.IsDefined()) {
    if (v.IsScalar()) {
      bool on = true;
      if (ctx.read_bool(v, m.path_of("cache"), on) && !on) j.cache_size = 0;
    } else {
      MapReader c(ctx, v, m.path_of("cache"));
      if (auto s = c.get("size"); s.IsDefined()) {
        int64_t x;
        if (ctx.read_int(s, c.path_of("size"), 0, 10'000'000, x)) j.cache_size = static_cast<uint64_t>(x);
      }
      if (auto t = c.get("ttl"); t.IsDefined()) ctx.read_duration(t, c.path_of("ttl"), j.cache_ttl_ms);
    }
  }
  if (auto v = m.get("max_token_bytes"); v.IsDefined()) ctx.read_size(v, m.path_of("max_token_bytes"), j.max_token_bytes);
  if (auto v = m.get("unavailable_status"); v.IsDefined()) {
    int64_t s;
    if (ctx.read_int(v, m.path_of("unavailable_status"), 401, 503, s)) {
      if (s != 401 && s != 503) ctx.error(v, m.path_of("unavailable_status"), "expected 401 or 503");
      j.unavailable_status = static_cast<int>(s);
    }
  }
}

void read_api_key(Context& ctx, const YAML::Node& n, const std::string& path, ApiKeyMethod& a) {
  MapReader m(ctx, n, path);
  CredentialSource header;
  header.kind = CredentialSource::Kind::kHeader;
  header.name = "x-api-key";
  header.text = "header:X-API-Key";
  a.from = {header};
  if (auto v = m.get("from"); v.IsDefined() && read_sources(ctx, v, m.path_of("from"), a.from)) {
    for (const auto& s : a.from) {
      if (s.kind == CredentialSource::Kind::kBearer) ctx.error(v, m.path_of("from"), "API keys are read from a header, cookie or query parameter, not bearer");
    }
  }
  if (auto v = m.get("strip"); v.IsDefined()) ctx.read_bool(v, m.path_of("strip"), a.strip);
}

void read_consumer(Context& ctx, const std::vector<UsagePlan>& plans, const std::string& name, const YAML::Node& n,
                   const std::string& path, Consumer& c) {
  c.name = name;
  MapReader m(ctx, n, path);
  if (!m.valid()) return;
  std::vector<std::string> keys;
  read_strings(ctx, m, "keys", keys);
  for (const auto& k : keys) {
    if (k.size() < 16) ctx.error(m.get("keys"), m.path_of("keys"), "an API key must be at least 16 characters");
    c.key_hashes.push_back(jose::sha256_hex(k));
  }
  std::vector<std::string> hashes;
  read_strings(ctx, m, "key_hashes", hashes);
  for (const auto& h : hashes) {
    std::string lower = to_lower(h);
    bool hex = lower.size() == 64 && lower.find_first_not_of("0123456789abcdef") == std::string::npos;
    if (!hex) ctx.error(m.get("key_hashes"), m.path_of("key_hashes"), "expected the SHA-256 of a key as 64 hex digits");
    else c.key_hashes.push_back(lower);
  }
  read_strings(ctx, m, "ids", c.ids);
  read_strings(ctx, m, "groups", c.groups);
  if (auto v = m.get("plan"); v.IsDefined()) {
    std::string plan;
    if (ctx.read_string(v, m.path_of("plan"), plan)) {
      std::vector<std::string> names;
      for (const auto& p : plans) names.push_back(p.name);
      c.plan = ctx.find_name(v, m.path_of("plan"), "usage plan", plan, names);
    }
  }
}

void read_consumer_map(Context& ctx, const std::vector<UsagePlan>& plans, const YAML::Node& n, const std::string& path,
                       Consumers& out) {
  if (!n.IsMap()) {
    ctx.error(n, path, "expected a mapping of consumer names to {keys, key_hashes, ids, groups, plan}, or a file name");
    return;
  }
  for (auto it = n.begin(); it != n.end(); ++it) {
    Consumer c;
    read_consumer(ctx, plans, it->first.Scalar(), it->second, path + "." + it->first.Scalar(), c);
    size_t index = out.list.size();
    for (const auto& h : c.key_hashes) {
      if (!out.by_key_hash.emplace(h, index).second) {
        ctx.error(it->first, path + "." + c.name, "an API key of this consumer is also another consumer's");
      }
    }
    for (const std::string& id : c.ids) {
      if (!out.by_name_or_id.emplace(id, index).second) {
        ctx.error(it->first, path + "." + c.name, fmt::format("id \"{}\" is also another consumer's name or id", id));
      }
    }
    if (!out.by_name_or_id.emplace(c.name, index).second) {
      ctx.error(it->first, path + "." + c.name, fmt::format("\"{}\" is also another consumer's id", c.name));
    }
    out.list.push_back(std::move(c));
  }
}

// A method name or a list tried in order; "none" alone means no authentication.
void read_method_list(Context& ctx, const Config& cfg, const YAML::Node& v, const std::string& path,
                      std::vector<int>& out) {
  std::vector<std::string> names;
  for (const auto& a : cfg.auth) names.push_back(a.name);
  std::vector<std::string> list;
  if (!ctx.read_string_list(v, path, list)) return;
  for (const auto& name : list) {
    if (name == "none") {
      if (list.size() > 1) ctx.error(v, path, "\"none\" cannot be combined with other methods");
      continue;
    }
    if (int index = ctx.find_name(v, path, "auth method", name, names); index >= 0) out.push_back(index);
  }
}

}  // namespace

void read_auth(Context& ctx, Config& cfg, const YAML::Node& n, const std::string& base_dir) {
  MapReader m(ctx, n, "auth");
  if (!m.valid()) return;
  auto section = [&](const char* key, AuthMethod::Kind kind) {
    YAML::Node s = m.get(key);
    if (!s.IsDefined() || s.IsNull()) return;
    if (!s.IsMap()) {
      ctx.error(s, m.path_of(key), "expected a mapping of method names to definitions");
      return;
    }
    for (auto it = s.begin(); it != s.end(); ++it) {
      AuthMethod a;
      a.name = it->first.Scalar();
      a.kind = kind;
      std::string path = m.path_of(key) + "." + a.name;
      if (a.name == "none") ctx.error(it->first, path, "\"none\" is reserved (it means no authentication)");
      for (const auto& other : cfg.auth) {
        if (other.name == a.name) ctx.error(it->first, path, fmt::format("the name \"{}\" is used twice", a.name));
      }
      if (kind == AuthMethod::Kind::kJwt) read_jwt(ctx, cfg, it->second, path, base_dir, a.jwt);
      else if (kind == AuthMethod::Kind::kApiKey) read_api_key(ctx, it->second, path, a.api_key);
      else read_authorizer(ctx, cfg, it->second, path, a.authorizer);
      cfg.auth.push_back(std::move(a));
    }
  };
  section("jwt", AuthMethod::Kind::kJwt);
  section("api_keys", AuthMethod::Kind::kApiKey);
  section("authorizers", AuthMethod::Kind::kAuthorizer);
  // Secure by default: routes that do not say otherwise use these methods; a public
  // route then has to say `auth: none`.
  if (auto v = m.get("default"); v.IsDefined()) read_method_list(ctx, cfg, v, m.path_of("default"), cfg.auth_default);
}

void read_consumers(Context& ctx, Config& cfg, const YAML::Node& n, const std::string& base_dir) {
  if (!n.IsScalar()) {
    read_consumer_map(ctx, cfg.usage_plans, n, "consumers", cfg.consumers);
    return;
  }
  // A file with the same mapping, so keys can live apart from the config.
  cfg.consumers.file = resolve_path(n.Scalar(), base_dir);
  cfg.other_files.push_back(cfg.consumers.file);
  std::string text;
  if (!read_file_text(cfg.consumers.file, text)) {
    ctx.error(n, "consumers", fmt::format("cannot read \"{}\": {}", cfg.consumers.file, strerror(errno)));
    return;
  }
  YAML::Node doc;
  try {
    doc = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    ctx.error(n, "consumers", fmt::format("{}:{}:{}: YAML syntax error: {}", cfg.consumers.file, e.mark.line + 1,
                                          e.mark.column + 1, e.msg));
    return;
  }
  // Errors inside the file name the file.
  Context file_ctx(cfg.consumers.file, ctx.errors());
  read_consumer_map(file_ctx, cfg.usage_plans, doc, "consumers", cfg.consumers);
}

bool read_cors(Context& ctx, const YAML::Node& n, const std::string& path, Cors& c) {
  if (n.IsScalar()) {
    bool on = true;
    if (ctx.read_bool(n, path, on) && !on) {
      c = Cors{};
      return true;
    }
    ctx.error(n, path, "expected off, or a mapping {origins, methods, headers, expose_headers, credentials, max_age}");
    return false;
  }
  MapReader m(ctx, n, path);
  if (!m.valid()) return false;
  c = Cors{};
  c.enabled = true;
  if (auto v = m.get("origins"); !v.IsDefined()) {
    ctx.error(n, path, "missing key \"origins\" (e.g. [https://app.example.com])");
  } else if (ctx.read_string_list(v, m.path_of("origins"), c.origins)) {
    for (const auto& o : c.origins) {
      size_t scheme = o.find("://");
      bool ok = o == "*" || (scheme != std::string::npos && scheme > 0 && o.size() > scheme + 3 &&
                             o.find('/', scheme + 3) == std::string::npos &&
                             (o.find('*') == std::string::npos || o.compare(scheme + 3, 2, "*.") == 0));
      if (!ok) ctx.error(v, m.path_of("origins"), fmt::format("\"{}\": expected scheme://host[:port], scheme://*.domain or *", o));
    }
  }
  read_strings(ctx, m, "methods", c.methods);
  read_strings(ctx, m, "headers", c.headers);
  for (auto& h : c.headers) h = to_lower(h);
  read_strings(ctx, m, "expose_headers", c.expose_headers);
  if (auto v = m.get("credentials"); v.IsDefined()) ctx.read_bool(v, m.path_of("credentials"), c.credentials);
  if (auto v = m.get("max_age"); v.IsDefined()) {
    int64_t ms;
    if (ctx.read_duration(v, m.path_of("max_age"), ms)) c.max_age_s = ms / 1000;
  }
  if (c.credentials && std::find(c.origins.begin(), c.origins.end(), "*") != c.origins.end()) {
    ctx.error(n, path, "credentials: true with origin \"*\" would let any site make credentialed requests: list the origins");
  }
  return true;
}

void read_route_auth(Context& ctx, const Config& cfg, MapReader& m, Route& r) {
  if (auto v = m.get("auth"); v.IsDefined()) read_method_list(ctx, cfg, v, m.path_of("auth"), r.auth);
  else r.auth = cfg.auth_default;
  std::vector<std::string> consumer_names, groups;
  for (const auto& c : cfg.consumers.list) {
    consumer_names.push_back(c.name);
    groups.insert(groups.end(), c.groups.begin(), c.groups.end());
  }
  auto check_names = [&](const YAML::Node& node, const std::string& path, const std::vector<std::string>& list,
                         const std::vector<std::string>& known, const char* what) {
    for (const auto& name : list) {
      if (std::find(known.begin(), known.end(), name) != known.end()) continue;
      std::string hint = suggest(name, known);
      ctx.error(node, path, hint.empty() ? fmt::format("no {} \"{}\"", what, name)
                                         : fmt::format("no {} \"{}\" (did you mean \"{}\"?)", what, name, hint));
    }
  };
  YAML::Node require = m.get("require");
  YAML::Node deny = m.get("deny");
  if (require.IsDefined()) {
    MapReader q(ctx, require, m.path_of("require"));
    read_strings(ctx, q, "scopes", r.access.scopes);
    if (auto v = q.get("claims"); v.IsDefined()) {
      if (!v.IsMap()) {
        ctx.error(v, q.path_of("claims"), "expected a mapping of claim names to a value or a list of values");
      } else {
        for (auto it = v.begin(); it != v.end(); ++it) {
          ClaimRequirement c;
          c.claim = it->first.Scalar();
          if (ctx.read_string_list(it->second, q.path_of("claims") + "." + c.claim, c.values)) r.access.claims.push_back(std::move(c));
        }
      }
    }
    if (read_strings(ctx, q, "consumers", r.access.consumers)) {
      check_names(q.get("consumers"), q.path_of("consumers"), r.access.consumers, consumer_names, "consumer");
    }
    if (read_strings(ctx, q, "groups", r.access.groups)) check_names(q.get("groups"), q.path_of("groups"), r.access.groups, groups, "consumer group");
  }
  if (deny.IsDefined()) {
    MapReader d(ctx, deny, m.path_of("deny"));
    if (read_strings(ctx, d, "consumers", r.access.deny_consumers)) {
      check_names(d.get("consumers"), d.path_of("consumers"), r.access.deny_consumers, consumer_names, "consumer");
    }
    if (read_strings(ctx, d, "groups", r.access.deny_groups)) {
      check_names(d.get("groups"), d.path_of("groups"), r.access.deny_groups, groups, "consumer group");
    }
  }
  if (!r.access.empty() && r.auth.empty()) {
    ctx.error(require.IsDefined() ? require : deny, require.IsDefined() ? m.path_of("require") : m.path_of("deny"),
              "needs the route to authenticate (auth: METHOD)");
  }
  if (auto v = m.get("cors"); v.IsDefined()) read_cors(ctx, v, m.path_of("cors"), r.cors);
  else r.cors = cfg.cors;
}

}  // namespace portico::config
