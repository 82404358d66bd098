#include "format/json_edit.h"

#include <charconv>
#include <optional>

#include <fmt/format.h>

namespace portico::format {
namespace {

// An array index token: digits, no leading zero (RFC 6901 section 4).
std::optional<size_t> index_of(const std::string& token) {
  if (token.empty() || (token.size() > 1 && token[0] == '0')) return std::nullopt;
  size_t i = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), i);
  if (ec != std::errc() || end != token.data() + token.size()) return std::nullopt;
  return i;
}

boost::json::value* child(boost::json::value& v, const std::string& token) {
  if (auto* o = v.if_object()) return o->if_contains(token);
  if (auto* a = v.if_array()) {
    auto i = index_of(token);
    return i && *i < a->size() ? &(*a)[*i] : nullptr;
  }
  return nullptr;
}

}  // namespace

Result<Pointer> parse_pointer(std::string_view text) {
  Pointer p;
  p.text = std::string(text);
  if (text.empty()) return p;
  if (text[0] != '/') {
    return Error{fmt::format("\"{}\" is not a JSON Pointer (it must start with \"/\")", text)};
  }
  std::string token;
  for (size_t i = 1; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '/') {
      p.tokens.push_back(std::move(token));
      token.clear();
    } else if (text[i] == '~') {
      if (i + 1 < text.size() && (text[i + 1] == '0' || text[i + 1] == '1')) {
        token += text[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        return Error{fmt::format("\"{}\": \"~\" must be followed by 0 or 1", text)};
      }
    } else {
      token += text[i];
    }
  }
  return p;
}

const boost::json::value* find(const boost::json::value& doc, const Pointer& p) {
  const boost::json::value* v = &doc;
  for (const std::string& token : p.tokens) {
    v = child(const_cast<boost::json::value&>(*v), token);
    if (v == nullptr) return nullptr;
  }
  return v;
}

void erase(boost::json::value& doc, const Pointer& p) {
  if (p.tokens.empty()) {
    doc = nullptr;
    return;
  }
  boost::json::value* parent = &doc;
  for (size_t i = 0; i + 1 < p.tokens.size(); ++i) {
    parent = child(*parent, p.tokens[i]);
    if (parent == nullptr) return;
  }
  const std::string& last = p.tokens.back();
  if (auto* o = parent->if_object()) {
    o->erase(last);
  } else if (auto* a = parent->if_array()) {
    if (auto i = index_of(last); i && *i < a->size()) a->erase(a->begin() + static_cast<long>(*i));
  }
}

bool put(boost::json::value& doc, const Pointer& p, boost::json::value v) {
  if (p.tokens.empty()) {
    doc = std::move(v);
    return true;
  }
  boost::json::value* at = &doc;
  for (size_t i = 0; i < p.tokens.size(); ++i) {
    const std::string& token = p.tokens[i];
    bool last = i + 1 == p.tokens.size();
    if (at->is_null()) at->emplace_object();
    if (auto* o = at->if_object()) {
      if (last) {
        (*o)[token] = std::move(v);
        return true;
      }
      at = &(*o)[token];
    } else if (auto* a = at->if_array()) {
      auto index = token == "-" ? std::optional<size_t>(a->size()) : index_of(token);
      if (!index || *index > a->size()) return false;
      if (*index == a->size()) a->emplace_back(nullptr);
      if (last) {
        (*a)[*index] = std::move(v);
        return true;
      }
      at = &(*a)[*index];
    } else {
      return false;
    }
  }
  return false;
}

boost::json::value select(const boost::json::value& doc, const std::vector<Pointer>& pointers) {
  boost::json::value out;
  for (const Pointer& p : pointers) {
    if (const boost::json::value* v = find(doc, p)) put(out, p, *v);
  }
  if (out.is_null() && doc.is_object()) out.emplace_object();
  return out;
}

}  // namespace portico::format
