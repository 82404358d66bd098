// The `functions:` section: runtime, handler, code, command, environment, memory,
// timeout and scaling. The command an instance runs is resolved here, so `portico
// check` reports a missing code directory, bootstrap or handler file with its line.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "config/sections.h"
#include "core/strings.h"

#ifndef PORTICO_RUNTIME_DIR
#define PORTICO_RUNTIME_DIR "/usr/share/portico/runtimes"
#endif

namespace portico::config {

const char* runtime_name(Runtime r) {
  switch (r) {
    case Runtime::kNodejs:
      return "nodejs";
    case Runtime::kPython:
      return "python";
    case Runtime::kProvided:
      return "provided";
  }
  return "?";
}

std::string Function::signature() const {
  std::string s = fmt::format("{}|{}|{}|{}|{}|{}", name, runtime_name(runtime), handler, code_dir,
                              memory_bytes, timeout_ms);
  for (const auto& c : command) s += "|c:" + c;
  for (const auto& [k, v] : environment) s += "|e:" + k + "=" + v;
  return s;
}

std::string runtime_dir() {
  const char* env = std::getenv("PORTICO_RUNTIME_DIR");
  return env != nullptr && *env != '\0' ? env : PORTICO_RUNTIME_DIR;
}

namespace {

namespace fs = std::filesystem;

bool is_executable_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// An executable by name on Portico's PATH (resolved once, at load: instances get
// Lambda's PATH, not Portico's).
std::string find_on_path(const std::string& name) {
  if (name.find('/') != std::string::npos) return is_executable_file(name) ? name : "";
  const char* path = std::getenv("PATH");
  for (std::string_view dir : split(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin", ':')) {
    if (dir.empty()) continue;
    std::string candidate = std::string(dir) + "/" + name;
    if (is_executable_file(candidate)) return candidate;
  }
  return "";
}

// "nodejs", "nodejs20.x", "python", "python3.11", "provided", "provided.al2023".
bool parse_runtime(std::string_view text, Runtime& out) {
  auto versioned = [&](std::string_view base) {
    if (text.substr(0, base.size()) != base) return false;
    std::string_view rest = text.substr(base.size());
    return rest.empty() || (rest[0] >= '0' && rest[0] <= '9') ||
           (base == "provided" && rest[0] == '.');
  };
  if (versioned("nodejs"))
    out = Runtime::kNodejs;
  else if (versioned("python"))
    out = Runtime::kPython;
  else if (versioned("provided"))
    out = Runtime::kProvided;
  else
    return false;
  return true;
}

// Lambda's rule for environment variable names: a letter, then letters, digits, '_'.
bool valid_env_name(std::string_view name) {
  if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// The variables Portico sets for every instance, which configuration may not replace.
bool reserved_env_name(std::string_view name) {
  static constexpr std::string_view kReserved[] = {"_HANDLER",
                                                   "_X_AMZN_TRACE_ID",
                                                   "AWS_EXECUTION_ENV",
                                                   "AWS_LAMBDA_FUNCTION_NAME",
                                                   "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                                                   "AWS_LAMBDA_FUNCTION_VERSION",
                                                   "AWS_LAMBDA_INITIALIZATION_TYPE",
                                                   "AWS_LAMBDA_LOG_GROUP_NAME",
                                                   "AWS_LAMBDA_LOG_STREAM_NAME",
                                                   "AWS_LAMBDA_RUNTIME_API",
                                                   "LAMBDA_TASK_ROOT",
                                                   "LAMBDA_RUNTIME_DIR",
                                                   "AWS_ACCESS_KEY_ID",
                                                   "AWS_SECRET_ACCESS_KEY",
                                                   "AWS_SESSION_TOKEN"};
  for (auto r : kReserved) {
    if (name == r) return true;
  }
  return false;
}

// The module file a Node or Python handler names ("src/app.handler" -> src/app.js ...).
bool handler_file_exists(const std::string& code_dir, const std::string& handler, Runtime runtime,
                         std::string& tried) {
  size_t dot = handler.rfind('.');
  std::string module = handler.substr(0, dot);
  std::vector<std::string> extensions;
  if (runtime == Runtime::kNodejs)
    extensions = {".js", ".mjs", ".cjs"};
  else
    extensions = {".py"};
  for (const auto& ext : extensions) {
    if (fs::exists(fs::path(code_dir) / (module + ext))) return true;
  }
  if (runtime == Runtime::kPython) {
    // A dotted module path: pkg.mod.func -> pkg/mod.py, or a package's __init__.py.
    std::string as_path = module;
    for (char& c : as_path) {
      if (c == '.') c = '/';
    }
    if (fs::exists(fs::path(code_dir) / (as_path + ".py")) ||
        fs::exists(fs::path(code_dir) / as_path / "__init__.py")) {
      return true;
    }
  }
  tried = module + (runtime == Runtime::kNodejs ? ".js, .mjs or .cjs" : ".py");
  return false;
}

void read_function(Context& ctx, const std::string& name, const YAML::Node& node,
                   const std::string& base_dir, Function& f) {
  std::string path = "functions." + name;
  size_t errors_before = ctx.error_count();
  f.name = name;
  MapReader m(ctx, node, path);
  if (!m.valid()) return;
  bool name_ok = !name.empty() && name.size() <= 64;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') name_ok = false;
  }
  if (!name_ok)
    ctx.error(node, path, "a function name is 1-64 letters, digits, '-' or '_' (as Lambda's)");

  YAML::Node runtime = m.get("runtime");
  if (!runtime.IsDefined()) {
    ctx.error(node, path, "missing key \"runtime\" (nodejs, python or provided)");
  } else if (ctx.read_string(runtime, m.path_of("runtime"), f.runtime_text) &&
             !parse_runtime(f.runtime_text, f.runtime)) {
    ctx.error(
        runtime, m.path_of("runtime"),
        fmt::format(
            "unknown runtime \"{}\" (expected nodejs, python or provided, or a versioned name "
            "such as nodejs20.x, python3.11, provided.al2023)",
            f.runtime_text));
  }
  YAML::Node handler = m.get("handler");
  if (handler.IsDefined()) {
    ctx.read_string(handler, m.path_of("handler"), f.handler);
  } else if (f.runtime != Runtime::kProvided) {
    ctx.error(node, path,
              "missing key \"handler\" (e.g. index.handler: the file index, the function handler)");
  }
  if (!f.handler.empty() && f.runtime != Runtime::kProvided) {
    size_t dot = f.handler.rfind('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == f.handler.size()) {
      ctx.error(handler, m.path_of("handler"), "expected FILE.FUNCTION, e.g. index.handler");
    }
  }

  YAML::Node code = m.get("code");
  bool code_ok = false;
  if (!code.IsDefined()) {
    ctx.error(node, path, "missing key \"code\" (the directory with the function's code)");
  } else if (ctx.read_string(code, m.path_of("code"), f.code_dir)) {
    f.code_dir = resolve_path(f.code_dir, base_dir);
    std::error_code ec;
    f.code_dir = fs::absolute(f.code_dir, ec).lexically_normal().string();
    if (!f.code_dir.empty() && f.code_dir.size() > 1 && f.code_dir.back() == '/')
      f.code_dir.pop_back();
    if (!fs::is_directory(f.code_dir, ec)) {
      ctx.error(code, m.path_of("code"), fmt::format("\"{}\" is not a directory", f.code_dir));
    } else {
      code_ok = true;
    }
  }

  YAML::Node command = m.get("command");
  if (command.IsDefined()) {
    if (ctx.read_string_list(command, m.path_of("command"), f.command) && f.command.empty()) {
      ctx.error(command, m.path_of("command"), "expected the program and its arguments");
    }
  }

  if (code_ok && ctx.error_count() == errors_before) {
    std::string tried;
    if (!f.command.empty()) {
      // The program as given: relative to the code directory, or on PATH.
      std::string program = f.command[0];
      std::string resolved =
          program.find('/') != std::string::npos
              ? (fs::path(program).is_absolute() ? program : f.code_dir + "/" + program)
              : find_on_path(program);
      if (resolved.empty() || !is_executable_file(resolved)) {
        ctx.error(command, m.path_of("command"),
                  fmt::format("\"{}\" is not an executable file", program));
      } else {
        f.command[0] = resolved;
      }
    } else if (f.runtime == Runtime::kProvided) {
      std::string bootstrap = f.code_dir + "/bootstrap";
      if (!is_executable_file(bootstrap)) {
        ctx.error(
            code, m.path_of("code"),
            fmt::format(
                "a provided runtime needs an executable file \"bootstrap\" in {} (or set command)",
                f.code_dir));
      }
      f.command = {bootstrap};
    } else if (!handler_file_exists(f.code_dir, f.handler, f.runtime, tried)) {
      ctx.error(handler, m.path_of("handler"),
                fmt::format("no handler file {} in {}", tried, f.code_dir));
    } else if (f.runtime == Runtime::kNodejs) {
      std::string node_bin = find_on_path("node");
      std::string ric = runtime_dir() + "/node/node_modules/aws-lambda-ric/index.mjs";
      if (node_bin.empty())
        ctx.error(runtime, m.path_of("runtime"), "node is not installed (not found on PATH)");
      else if (!fs::exists(ric)) {
        ctx.error(runtime, m.path_of("runtime"),
                  fmt::format("the Node runtime client is not installed ({} is missing: run "
                              "scripts/install-deps, "
                              "or set PORTICO_RUNTIME_DIR)",
                              ric));
      }
      f.command = {node_bin, ric, f.handler};
    } else {
      // Debian's interpreter first: it sees Debian's Python packages (boto3, as Lambda
      // bundles it), which a separately built python3 earlier on PATH may not.
      std::string python =
          is_executable_file("/usr/bin/python3") ? "/usr/bin/python3" : find_on_path("python3");
      std::string client = runtime_dir() + "/python/bootstrap.py";
      if (python.empty())
        ctx.error(runtime, m.path_of("runtime"), "python3 is not installed (not found on PATH)");
      else if (!fs::exists(client)) {
        ctx.error(
            runtime, m.path_of("runtime"),
            fmt::format("Portico's Python runtime client is missing ({}; set PORTICO_RUNTIME_DIR)",
                        client));
      }
      f.command = {python, client};
    }
  }

  if (auto env = m.get("environment"); env.IsDefined() && !env.IsNull()) {
    if (!env.IsMap()) {
      ctx.error(env, m.path_of("environment"), "expected a mapping of variable names to values");
    } else {
      for (auto it = env.begin(); it != env.end(); ++it) {
        std::string key = it->first.Scalar();
        std::string vp = m.path_of("environment") + "." + key;
        std::string value;
        if (!ctx.read_string(it->second, vp, value)) continue;
        std::string var = key;
        // NAME_env: the value of the named variable of Portico's own environment.
        if (key.size() > 4 && key.compare(key.size() - 4, 4, "_env") == 0) {
          var = key.substr(0, key.size() - 4);
          const char* from = std::getenv(value.c_str());
          if (from == nullptr) {
            ctx.error(it->second, vp, fmt::format("the environment variable {} is not set", value));
            continue;
          }
          value = from;
        }
        if (!valid_env_name(var)) {
          ctx.error(it->first, vp, "a variable name is a letter, then letters, digits or '_'");
        } else if (reserved_env_name(var)) {
          ctx.error(it->first, vp, fmt::format("{} is set by Portico for every instance", var));
        } else if (value.find('\0') != std::string::npos) {
          ctx.error(it->second, vp, "a value cannot contain a NUL byte");
        } else {
          f.environment.emplace_back(var, value);
        }
      }
    }
  }

  if (auto v = m.get("memory"); v.IsDefined()) {
    if (ctx.read_size(v, m.path_of("memory"), f.memory_bytes) &&
        (f.memory_bytes < (16ull << 20) || f.memory_bytes > (10240ull << 20))) {
      ctx.error(v, m.path_of("memory"), "must be between 16MiB and 10240MiB (Lambda's limit)");
    }
  }
  if (auto v = m.get("timeout"); v.IsDefined()) {
    if (ctx.read_duration(v, m.path_of("timeout"), f.timeout_ms) &&
        (f.timeout_ms < 1 || f.timeout_ms > 900'000)) {
      ctx.error(v, m.path_of("timeout"), "must be between 1ms and 15m (Lambda's limit)");
    }
  }
  if (auto v = m.get("max_concurrency"); v.IsDefined()) {
    ctx.read_u32(v, m.path_of("max_concurrency"), 1, 10'000, f.max_concurrency);
  }
  if (auto v = m.get("min_instances"); v.IsDefined()) {
    if (ctx.read_u32(v, m.path_of("min_instances"), 0, 10'000, f.min_instances) &&
        f.min_instances > f.max_concurrency) {
      ctx.error(v, m.path_of("min_instances"),
                fmt::format("is more than max_concurrency ({})", f.max_concurrency));
    }
  }
  if (auto v = m.get("idle_timeout"); v.IsDefined()) {
    if (ctx.read_duration(v, m.path_of("idle_timeout"), f.idle_timeout_ms) &&
        f.idle_timeout_ms < 1) {
      ctx.error(v, m.path_of("idle_timeout"), "must be at least 1ms");
    }
  }
  if (auto v = m.get("max_queue"); v.IsDefined())
    ctx.read_u32(v, m.path_of("max_queue"), 0, 1'000'000, f.max_queue);
  // Asynchronous invocation (Lambda's EventInvokeConfig).
  if (auto v = m.get("retry_attempts"); v.IsDefined())
    ctx.read_u32(v, m.path_of("retry_attempts"), 0, 100, f.retry_attempts);
  if (auto v = m.get("max_event_age"); v.IsDefined()) {
    if (ctx.read_duration(v, m.path_of("max_event_age"), f.max_event_age_ms) &&
        f.max_event_age_ms < 1'000) {
      ctx.error(v, m.path_of("max_event_age"), "must be at least 1s");
    }
  }
  if (auto v = m.get("retry_delay"); v.IsDefined()) {
    if (ctx.read_duration(v, m.path_of("retry_delay"), f.retry_delay_ms) && f.retry_delay_ms < 1)
      ctx.error(v, m.path_of("retry_delay"), "must be at least 1ms");
  }
}

}  // namespace

int function_index(Context& ctx, const Config& cfg, const YAML::Node& node, const std::string& path) {
  std::string name;
  if (!ctx.read_string(node, path, name)) return -1;
  std::vector<std::string> names;
  for (const auto& f : cfg.functions) names.push_back(f.name);
  return ctx.find_name(node, path, "function", name, names);
}

void read_functions(Context& ctx, Config& cfg, const YAML::Node& node,
                    const std::string& base_dir) {
  if (!node.IsMap()) {
    ctx.error(node, "functions", "expected a mapping of function names to definitions");
    return;
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    Function f;
    read_function(ctx, it->first.Scalar(), it->second, base_dir, f);
    cfg.functions.push_back(std::move(f));
  }
}

}  // namespace portico::config
