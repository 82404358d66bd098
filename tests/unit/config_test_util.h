// Loading a config from text in unit tests: the result and its diagnostics as text.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/loader.h"

namespace portico::config::testing {

struct Loaded {
  std::shared_ptr<Config> config;
  std::vector<Diagnostic> errors;
  std::string text() const { return format_diagnostics(errors); }
};

inline Loaded load(const std::string& yaml, const std::string& name = "test.yaml") {
  Loaded l;
  l.config = load_config_text(yaml, name, l.errors);
  return l;
}

}  // namespace portico::config::testing
