#include "format/jq.h"

extern "C" {
#include <jq.h>
#include <jv.h>
}

#include <fmt/format.h>

namespace portico::format {
namespace {

// jq reports compile errors through a callback; they are collected for the message.
void collect_error(void* data, jv message) {
  auto* out = static_cast<std::string*>(data);
  jv text = jv_get_kind(message) == JV_KIND_STRING ? jv_copy(message)
                                                   : jv_dump_string(jv_copy(message), 0);
  if (!out->empty()) *out += "; ";
  *out += jv_string_value(text);
  jv_free(text);
  jv_free(message);
}

std::string take_message(jv invalid) {
  jv msg = jv_invalid_get_msg(invalid);
  std::string out;
  if (jv_get_kind(msg) == JV_KIND_STRING) {
    out = jv_string_value(msg);
  } else if (jv_get_kind(msg) != JV_KIND_NULL) {
    jv text = jv_dump_string(jv_copy(msg), 0);
    out = jv_string_value(text);
    jv_free(text);
  }
  jv_free(msg);
  return out;
}

}  // namespace

Result<std::shared_ptr<JqProgram>> JqProgram::compile(std::string program) {
  // On one line, so jq's line numbers in errors are the user's.
  std::string wrapped =
      ".status as $status | .request as $request | .principal as $principal | .body | (" + program +
      "\n)";
  std::shared_ptr<JqProgram> p(new JqProgram(std::move(wrapped)));
  auto first = p->make_state();
  if (!first) return first.error();
  p->idle_.push_back(*first);
  return p;
}

JqProgram::~JqProgram() {
  for (jq_state* s : idle_) jq_teardown(&s);
}

Result<jq_state*> JqProgram::make_state() const {
  jq_state* jq = jq_init();
  if (jq == nullptr) return Error{"jq: cannot allocate its state"};
  std::string errors;
  jq_set_error_cb(jq, collect_error, &errors);
  int ok = jq_compile(jq, wrapped_.c_str());
  jq_set_error_cb(jq, nullptr, nullptr);
  if (!ok) {
    jq_teardown(&jq);
    return Error{fmt::format("jq: {}", errors.empty() ? "the program does not compile" : errors)};
  }
  return jq;
}

Result<std::string> JqProgram::run(std::string_view input_json) const {
  jq_state* jq = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      jq = idle_.back();
      idle_.pop_back();
    }
  }
  if (jq == nullptr) {
    auto made = make_state();
    if (!made) return made.error();
    jq = *made;
  }
  Result<std::string> out = Error{"the jq program produced no output"};
  jv input = jv_parse_sized(input_json.data(), static_cast<int>(input_json.size()));
  if (!jv_is_valid(input)) {
    out = Error{fmt::format("jq: the input is not JSON: {}", take_message(input))};
  } else {
    // Runtime errors go to the error callback too; keep them for the message.
    std::string errors;
    jq_set_error_cb(jq, collect_error, &errors);
    jq_start(jq, input, 0);
    jv result = jq_next(jq);
    if (jv_is_valid(result)) {
      jv text = jv_dump_string(result, 0);  // takes result
      result = jv_invalid();
      out = std::string(jv_string_value(text));
      jv_free(text);
    } else if (jv_invalid_has_msg(jv_copy(result))) {
      out = Error{fmt::format("jq: {}", take_message(result))};
      result = jv_invalid();
    } else if (!errors.empty()) {
      out = Error{fmt::format("jq: {}", errors)};
    }
    jv_free(result);  // later outputs are not wanted: the next jq_start resets the state
    jq_set_error_cb(jq, nullptr, nullptr);
  }
  std::lock_guard<std::mutex> lock(mu_);
  idle_.push_back(jq);
  return out;
}

}  // namespace portico::format
