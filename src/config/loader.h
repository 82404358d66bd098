// Loading a config: YAML text -> schema check -> typed Config with its compiled router.
// This one path serves start-up, every reload and `portico check`, so what `check`
// accepts is exactly what `run` accepts.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"

namespace portico::config {

struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 when the problem has no position (e.g. unreadable file)
  int column = 0;  // 1-based
  std::string path;  // YAML path, e.g. "routes[2].upstream"
  std::string message;

  // "portico.yaml:14:5: routes[2].upstream: unknown upstream ..."
  std::string to_string() const;
};

// Returns nullptr and fills errors (every problem found, in file order) on failure.
std::shared_ptr<Config> load_config_file(const std::string& path,
                                               std::vector<Diagnostic>& errors);
// Same, from text; `name` stands in for the file name in messages.
std::shared_ptr<Config> load_config_text(const std::string& text, const std::string& name,
                                               std::vector<Diagnostic>& errors);

std::string format_diagnostics(const std::vector<Diagnostic>& errors);

// Parsers for the value syntaxes, exposed for tests: "250ms", "5s", "2m", "1h";
// "512", "8KiB", "10MiB", "1GiB", "8KB" (decimal). Return false on bad syntax.
bool parse_duration_ms(std::string_view text, int64_t& out);
bool parse_size(std::string_view text, uint64_t& out);

}  // namespace portico::config
