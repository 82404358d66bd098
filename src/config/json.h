// The effective config as JSON, for the admin /config endpoint. Values a reader should
// not see (secrets, keys) are written as "<redacted>".
#pragma once

#include <string>

#include "config/config.h"

namespace portico::config {

std::string to_json(const Config& config);

}  // namespace portico::config
