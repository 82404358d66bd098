// `portico logs NAME [--since 10m] [--follow] [--limit N]`: a function's log lines (its
// instances' output and Lambda's START/END/REPORT lines) from a running Portico's
// store, through its admin listener: "TIMESTAMP REQUEST_ID MESSAGE", oldest first;
// --follow keeps printing new lines as they are written (like `aws logs tail`).
#pragma once

#include <string>
#include <vector>

namespace portico::cli {

int logs_command(const std::vector<std::string>& args);

}  // namespace portico::cli
