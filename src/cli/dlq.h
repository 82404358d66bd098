// `portico dlq list|replay|purge [FUNCTION] [--id ID] [--json]`: the dead letters of
// asynchronous invocation (events that failed for good) of a running Portico, through
// its admin listener: list them, run them again as new events, or remove them.
#pragma once

#include <string>
#include <vector>

namespace portico::cli {

int dlq_command(const std::vector<std::string>& args);

}  // namespace portico::cli
