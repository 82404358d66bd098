// A route's `steps:`: a chain of functions and schema checks, each step's output the next
// one's input (docs/steps.md). Each item names one step:
//
//   steps:
//     - function: business                     # or {function: business, name: orders}
//     - validate: {body: schemas/result.json}  # or validate: schemas/result.json
//     - function: formatter
#include <filesystem>

#include <fmt/format.h>

#include "config/sections.h"

namespace portico::config {

void read_route_steps(Context& ctx, const Config& cfg, size_t index, const YAML::Node& node,
                      const std::string& path, Route& r) {
  if (!node.IsSequence() || node.size() == 0) {
    ctx.error(node, path, "expected a list of steps ({function: NAME} or {validate: SCHEMA})");
    return;
  }
  std::string base_dir = std::filesystem::path(cfg.file).parent_path().string();
  bool any_function = false;
  size_t errors_before = ctx.error_count();
  for (size_t i = 0; i < node.size(); ++i) {
    std::string item_path = fmt::format("{}[{}]", path, i);
    MapReader m(ctx, node[i], item_path);
    if (!m.valid()) continue;
    Step step;
    YAML::Node function = m.get("function");
    YAML::Node validate = m.get("validate");
    if (function.IsDefined() == validate.IsDefined()) {
      ctx.error(node[i], item_path, "a step is one of: function, validate");
      continue;
    }
    if (function.IsDefined()) {
      step.kind = Step::Kind::kFunction;
      step.function = function_index(ctx, cfg, function, m.path_of("function"));
      if (step.function < 0) continue;
      step.name = "function " + cfg.functions[static_cast<size_t>(step.function)].name;
      any_function = true;
    } else {
      step.kind = Step::Kind::kValidate;
      step.name = "validate";
      std::string inline_name = fmt::format("routes[{}].steps[{}].validate.json", index, i);
      if (validate.IsMap()) {
        MapReader v(ctx, validate, m.path_of("validate"));
        YAML::Node body = v.get("body");
        if (!body.IsDefined()) {
          ctx.error(validate, m.path_of("validate"), "expected body: SCHEMA (a file or inline)");
          continue;
        }
        read_schema(ctx, body, v.path_of("body"), inline_name, base_dir, step.schema);
      } else {
        read_schema(ctx, validate, m.path_of("validate"), inline_name, base_dir, step.schema);
      }
      if (!step.schema) continue;
    }
    if (auto n = m.get("name"); n.IsDefined()) ctx.read_string(n, m.path_of("name"), step.name);
    r.steps.push_back(std::move(step));
  }
  if (!any_function && ctx.error_count() == errors_before) {
    ctx.error(node, path, "steps need at least one function (a step that answers)");
  }
}

}  // namespace portico::config
