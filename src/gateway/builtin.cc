#include "gateway/builtin.h"

#include <fmt/format.h>

#include "core/strings.h"

namespace portico::gateway {
namespace {

bool has_header(const std::vector<config::HeaderValue>& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) return true;
  }
  return false;
}

class RespondHandler final : public Handler {
 public:
  RespondHandler(Downstream& ds, const config::Respond& r) : ds_(ds), r_(r) {}

  void start() override {
    std::string& h = ds_.begin_response(r_.status);
    for (const auto& hv : r_.headers) {
      h += hv.name;
      h += ": ";
      h += hv.value;
      h += "\r\n";
    }
    if (!r_.body.empty() && !has_header(r_.headers, "content-type")) {
      char first = r_.body.front();
      h += (first == '{' || first == '[') ? "Content-Type: application/json\r\n"
                                          : "Content-Type: text/plain; charset=utf-8\r\n";
    }
    ds_.end_response_head(BodyMode::kLength, r_.body.size());
    ds_.send_body(r_.body);
    ds_.finish();
  }
  void on_request_body(std::string_view, bool) override {}
  void on_downstream_abort() override {}

 private:
  Downstream& ds_;
  const config::Respond& r_;
};

// Structural UTF-8 check (lead and continuation bytes); enough to decide between
// echoing the body as a JSON string or as base64.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t extra;
    if (c < 0x80) extra = 0;
    else if ((c >> 5) == 6) extra = 1;
    else if ((c >> 4) == 14) extra = 2;
    else if ((c >> 3) == 30) extra = 3;
    else return false;
    if (i + extra >= s.size() && extra != 0) return false;
    for (size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    }
    i += extra + 1;
  }
  return true;
}

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

class EchoHandler final : public Handler {
 public:
  EchoHandler(Downstream& ds, const RequestContext& ctx) : ds_(ds), ctx_(ctx) {}

  void start() override { ds_.want_body(true); }

  void on_request_body(std::string_view data, bool end) override {
    body_.append(data);
    if (!end) return;
    const http::RequestHead& req = *ctx_.request;
    std::string json = "{\"method\":" + json_quote(req.method) + ",\"path\":" + json_quote(ctx_.path) +
                       ",\"query\":" + json_quote(req.query) + ",\"host\":" + json_quote(req.host) +
                       ",\"client_ip\":" + json_quote(ctx_.client_ip) +
                       ",\"request_id\":" + json_quote(ctx_.request_id) + ",\"params\":{";
    for (int i = 0; i < ctx_.match.param_count && ctx_.route && i < static_cast<int>(ctx_.route->param_names.size()); ++i) {
      if (i) json += ',';
      json += json_quote(ctx_.route->param_names[static_cast<size_t>(i)]) + ":" + json_quote(ctx_.match.params[i]);
    }
    json += "},\"headers\":[";
    for (size_t i = 0; i < req.headers.size(); ++i) {
      if (i) json += ',';
      json += "[" + json_quote(req.headers[i].name) + "," + json_quote(req.headers[i].value) + "]";
    }
    json += "],";
    if (valid_utf8(body_)) json += "\"body\":" + json_quote(body_);
    else json += "\"body_base64\":" + json_quote(base64(body_));
    json += "}\n";
    ds_.begin_response(200) += "Content-Type: application/json\r\n";
    ds_.end_response_head(BodyMode::kLength, json.size());
    ds_.send_body(json);
    ds_.finish();
  }
  void on_downstream_abort() override {}

 private:
  Downstream& ds_;
  const RequestContext& ctx_;
  std::string body_;
};

}  // namespace

std::unique_ptr<Handler> make_respond_handler(Downstream& ds, const config::Respond& respond) {
  return std::make_unique<RespondHandler>(ds, respond);
}

std::unique_ptr<Handler> make_echo_handler(Downstream& ds, const RequestContext& ctx) {
  return std::make_unique<EchoHandler>(ds, ctx);
}

}  // namespace portico::gateway
