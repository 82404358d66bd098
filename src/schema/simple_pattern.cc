#include "schema/simple_pattern.h"

#include <limits>

namespace portico::schema {
namespace {

constexpr uint32_t kUnbounded = std::numeric_limits<uint32_t>::max();

bool is_ascii_punct(char c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
         (c >= '{' && c <= '~');
}

// A decimal count in a {n,m} quantifier.
bool read_count(std::string_view p, size_t& i, uint32_t& out) {
  size_t start = i;
  uint64_t v = 0;
  while (i < p.size() && p[i] >= '0' && p[i] <= '9') {
    v = v * 10 + static_cast<uint64_t>(p[i] - '0');
    if (v > 100000) return false;  // RE2's limit on repeats is 1000: leave it the odd case
    ++i;
  }
  out = static_cast<uint32_t>(v);
  return i > start;
}

}  // namespace

std::optional<SimplePattern> SimplePattern::compile(std::string_view p) {
  if (p.empty() || p[0] != '^') return std::nullopt;
  SimplePattern out;
  size_t i = 1;
  while (i < p.size()) {
    char c = p[i];
    if (c == '$' && i + 1 == p.size()) {
      out.anchored_end_ = true;
      break;
    }
    Atom atom;
    if (static_cast<unsigned char>(c) >= 128) return std::nullopt;
    if (c == '[') {
      ++i;
      if (i >= p.size() || p[i] == '^' || p[i] == ']') return std::nullopt;
      bool closed = false;
      int prev = -1;  // the last single character added (the start of a range)
      while (i < p.size()) {
        char d = p[i];
        if (static_cast<unsigned char>(d) >= 128) return std::nullopt;
        if (d == ']') {
          closed = true;
          ++i;
          break;
        }
        if (d == '\\') {
          if (i + 1 >= p.size()) return std::nullopt;
          char e = p[i + 1];
          i += 2;
          if (e == 'd') {
            for (char k = '0'; k <= '9'; ++k) atom.add(static_cast<unsigned char>(k));
            prev = -1;
          } else if (is_ascii_punct(e)) {
            atom.add(static_cast<unsigned char>(e));
            prev = static_cast<unsigned char>(e);
          } else {
            return std::nullopt;  // \w, \s, \p{..}, \u...: classes and escapes left to RE2
          }
          continue;
        }
        if (d == '-' && prev >= 0 && i + 1 < p.size() && p[i + 1] != ']') {
          char hi = p[i + 1];
          if (hi == '\\' || hi == '[' || static_cast<unsigned char>(hi) >= 128 ||
              static_cast<unsigned char>(hi) < prev)
            return std::nullopt;
          for (int k = prev; k <= static_cast<unsigned char>(hi); ++k)
            atom.add(static_cast<unsigned char>(k));
          prev = -1;
          i += 2;
          continue;
        }
        if (d == '[') return std::nullopt;  // [[:alpha:]] and the like
        atom.add(static_cast<unsigned char>(d));
        prev = static_cast<unsigned char>(d);
        ++i;
      }
      if (!closed) return std::nullopt;
    } else if (c == '\\') {
      if (i + 1 >= p.size()) return std::nullopt;
      char e = p[i + 1];
      i += 2;
      if (e == 'd') {
        for (char k = '0'; k <= '9'; ++k) atom.add(static_cast<unsigned char>(k));
      } else if (is_ascii_punct(e)) {
        atom.add(static_cast<unsigned char>(e));
      } else {
        return std::nullopt;
      }
    } else if (c == '.' || c == '(' || c == ')' || c == '|' || c == '*' || c == '+' || c == '?' ||
               c == '{' || c == '}' || c == ']' || c == '$' || c == '^' || c < ' ' || c == 127) {
      return std::nullopt;
    } else {
      atom.add(static_cast<unsigned char>(c));
      ++i;
    }
    // The atom's count.
    if (i < p.size()) {
      char q = p[i];
      if (q == '*' || q == '+' || q == '?') {
        atom.min = q == '+' ? 1 : 0;
        atom.max = q == '?' ? 1 : kUnbounded;
        ++i;
      } else if (q == '{') {
        ++i;
        uint32_t lo = 0, hi = 0;
        if (!read_count(p, i, lo)) return std::nullopt;
        hi = lo;
        if (i < p.size() && p[i] == ',') {
          ++i;
          hi = kUnbounded;
          if (i < p.size() && p[i] != '}' && (!read_count(p, i, hi) || hi < lo))
            return std::nullopt;
        }
        if (i >= p.size() || p[i] != '}') return std::nullopt;
        ++i;
        atom.min = lo;
        atom.max = hi;
      }
      // Lazy or possessive counts, or a count of a count: RE2's.
      if (i < p.size() && (p[i] == '?' || p[i] == '*' || p[i] == '+' || p[i] == '{') &&
          (atom.min != 1 || atom.max != 1))
        return std::nullopt;
    }
    out.atoms_.push_back(atom);
  }
  // The greedy pass is exact only if no variable atom shares a character with what
  // follows it, up to the next atom that must match.
  for (size_t a = 0; a < out.atoms_.size(); ++a) {
    if (out.atoms_[a].min == out.atoms_[a].max) continue;
    for (size_t b = a + 1; b < out.atoms_.size(); ++b) {
      if (out.atoms_[a].overlaps(out.atoms_[b])) return std::nullopt;
      if (out.atoms_[b].min > 0) break;
    }
  }
  return out;
}

}  // namespace portico::schema
