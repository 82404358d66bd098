// The response formatter's mapping on arbitrary input: a template (JSON whose strings
// may hold ${...}), a body and JSON Pointers, separated by NUL bytes. Any template
// compiles or is refused with a message; a compiled one renders against any body (and
// a request with parameters, query, headers and a principal); any pointer parses or is
// refused, and find / erase / put / select on any document stay within it.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "config/config.h"
#include "core/strings.h"
#include "format/json_edit.h"
#include "format/template.h"
#include "gateway/principal.h"
#include "http/parser.h"

namespace {

namespace json = boost::json;
using namespace portico;

struct Fixture {
  http::RequestHead req;
  config::Route route;
  gateway::RequestContext ctx;
  Fixture() {
    req.method = "POST";
    req.query = "a=1&a=2&b=%zz&c";
    req.headers = {{"X-A", "1"}, {"x-a", "2"}};
    route.name = "POST /x/{id}";
    route.param_names = {"id"};
    ctx.request = &req;
    ctx.route = &route;
    ctx.path = "/x/%41";
    ctx.request_id = "r";
    ctx.match.param_count = 1;
    ctx.match.params[0] = "%41";
    auto p = std::make_shared<gateway::Principal>();
    p->subject = "s";
    p->claims["k"] = json::array{1, "x"};
    ctx.principal = p;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture f;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts = split(input, '\0');
  while (parts.size() < 3) parts.emplace_back();

  boost::system::error_code ec;
  json::value body = json::parse(parts[1], ec);
  if (ec) body = json::value(parts[1]);

  if (auto t = format::Template::compile_json(parts[0]); t) {
    format::Scope scope{&f.ctx, &body, 200};
    json::value out = t->render(scope);
    (void)json::serialize(out);
    (void)t->render_text(scope);
  }
  std::vector<format::Pointer> pointers;
  for (std::string_view line : split(parts[2], '\n')) {
    auto p = format::parse_pointer(line);
    if (!p) continue;
    (void)format::find(body, *p);
    pointers.push_back(*p);
  }
  json::value selected = format::select(body, pointers);
  for (const auto& p : pointers) {
    format::put(selected, p, json::value(1));
    format::erase(body, p);
  }
  (void)json::serialize(selected);
  (void)json::serialize(body);
  return 0;
}
