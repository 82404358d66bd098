// DynamoDB's Number: a decimal of up to 38 significant digits whose magnitude is 0 or
// between 1E-130 and 9.9999999999999999999999999999999999999E+125, sent as a string
// ("N": "12.50"). Kept exactly as decimal digits — never as a double, which holds 15 to
// 17 digits and would change what clients stored (prices, counters, ids).
//
// Numbers come back canonical, as DynamoDB returns them: no sign for zero, no leading
// zeros, no trailing zeros after the point, no exponent ("1.50E+3" → "1500").
// Arithmetic (UpdateExpression's SET a = b + c, ADD) is exact; a result that needs more
// than 38 digits or leaves the range is an error, not a rounded number.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace portico::tables {

class Number {
 public:
  Number() = default;  // zero
  // The number in `text` (DynamoDB's syntax: an optional sign, digits with an optional
  // point, an optional exponent), or DynamoDB's ValidationException message.
  static Result<Number> parse(std::string_view text);
  static Result<Number> add(const Number& a, const Number& b);
  static Result<Number> subtract(const Number& a, const Number& b);

  std::string to_string() const;
  // <0, 0, >0 as this is less than, equal to, greater than `other`.
  int compare(const Number& other) const;
  bool operator==(const Number& other) const { return compare(other) == 0; }
  bool is_zero() const { return digits_.empty(); }
  bool negative() const { return negative_; }
  size_t significant_digits() const { return digits_.size(); }
  // Bytes it counts for in an item's size: its digits in pairs aligned on the decimal
  // point (base 100), one more byte, one more for a negative number; 1 for zero.
  size_t stored_size() const {
    if (digits_.empty()) return 1;
    size_t n = digits_.size();
    int32_t first = exponent_ - 1;  // the power of ten of the first digit
    bool unaligned = n % 2 == 0 && first % 2 == 0;
    return 1 + (n + 1) / 2 + (unaligned ? 1 : 0) + (negative_ ? 1 : 0);
  }
  // Bytes whose lexicographic (memcmp) order is the numbers' order, self-delimiting, for
  // sort keys in the store.
  std::string sort_key() const;

 private:
  // From digits with no leading or trailing zeros, checked against the limits.
  static Result<Number> make(bool negative, std::string digits, int64_t exponent);

  bool negative_ = false;
  std::string digits_;    // the significant digits; empty for zero
  int32_t exponent_ = 0;  // the value is 0.DIGITS × 10^exponent_
};

}  // namespace portico::tables
