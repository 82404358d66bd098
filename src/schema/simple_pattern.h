// `pattern`s that need no regular-expression engine: a `^`-anchored sequence of ASCII
// characters and character classes, each with a count ("^[A-Z]{3}-[0-9]{4,8}$",
// "^ord_[A-Za-z0-9]{16}$", "^https://") — the usual shape of patterns in API schemas.
// One greedy pass over the string matches them, with no per-call set-up: a tenth of
// what RE2::PartialMatch costs on such a pattern, and a schema checks a dozen per
// document.
//
// A greedy pass is exact only when no atom of variable length could give back a
// character that the atoms after it need; compile() accepts a pattern only when each
// such atom's class is disjoint from every atom after it up to the next one that must
// match at least once (or the end). Anything else (groups, alternation, `.`, negated
// classes, non-ASCII, Unicode escapes, lazy quantifiers, an unanchored start) is left
// to RE2: compile() returns nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace portico::schema {

class SimplePattern {
 public:
  // The pattern as written in the schema (ECMA-262 syntax), or nothing if it is not
  // one of the shapes above.
  static std::optional<SimplePattern> compile(std::string_view ecma);
  // What RE2::PartialMatch (ECMA-262's RegExp.test) answers for `s`.
  bool matches(std::string_view s) const {
    size_t pos = 0;
    for (const Atom& a : atoms_) {
      uint32_t n = 0;
      while (n < a.max && pos < s.size() && a.has(static_cast<unsigned char>(s[pos]))) {
        ++pos;
        ++n;
      }
      if (n < a.min) return false;
    }
    return !anchored_end_ || pos == s.size();
  }

 private:
  // A set of ASCII characters and how many of them in a row.
  struct Atom {
    uint64_t bits[2] = {0, 0};
    uint32_t min = 1, max = 1;
    bool has(unsigned char c) const { return c < 128 && ((bits[c >> 6] >> (c & 63)) & 1) != 0; }
    void add(unsigned char c) { bits[c >> 6] |= uint64_t{1} << (c & 63); }
    bool overlaps(const Atom& o) const {
      return (bits[0] & o.bits[0]) != 0 || (bits[1] & o.bits[1]) != 0;
    }
  };
  std::vector<Atom> atoms_;
  bool anchored_end_ = false;
};

}  // namespace portico::schema
