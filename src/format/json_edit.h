// Edits to a JSON document by RFC 6901 JSON Pointer: what response formatting's
// select / drop / rename / set do.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "core/result.h"

namespace portico::format {

// A parsed JSON Pointer: its reference tokens, unescaped ("" is the whole document).
struct Pointer {
  std::vector<std::string> tokens;
  std::string text;  // as written
};

// Errors: not "" and not starting with "/".
Result<Pointer> parse_pointer(std::string_view text);

// The value at p, or nullptr (a member that is not there, an index past the end).
const boost::json::value* find(const boost::json::value& doc, const Pointer& p);

// Removes the value at p (nothing if it is not there). Removing "" makes doc null.
void erase(boost::json::value& doc, const Pointer& p);

// Puts v at p, making the objects on the way ("-" appends to an array; an index of an
// array replaces that element, or appends when it is the array's size). False when a
// step goes through a value that is neither object nor array (nothing changes).
bool put(boost::json::value& doc, const Pointer& p, boost::json::value v);

// A document holding only the values at these pointers, each at its own place
// (`select: [/id, /user/name]` of {"id":1,"user":{"name":"a","pw":"x"},"x":2} is
// {"id":1,"user":{"name":"a"}}); pointers that find nothing are skipped.
boost::json::value select(const boost::json::value& doc, const std::vector<Pointer>& pointers);

}  // namespace portico::format
