// `portico invoke NAME [--payload JSON|@FILE] [-c FILE | --admin HOST:PORT]`: invokes a function of a
// running Portico through its admin listener (Lambda's Invoke API, with the log tail),
// prints the result on stdout and the invocation's log on stderr.
#pragma once

#include <string>
#include <vector>

namespace portico::cli {

int invoke_command(const std::vector<std::string>& args);

}  // namespace portico::cli
