// Fuzzes the config loader: any text gives a config or diagnostics, never a crash.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "config/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<portico::config::Diagnostic> errors;
  auto cfg = portico::config::load_config_text(text, "fuzz.yaml", errors);
  if (!cfg && errors.empty()) abort();
  if (cfg && !errors.empty()) abort();
  return 0;
}
