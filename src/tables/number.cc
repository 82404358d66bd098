#include "tables/number.h"

#include <algorithm>

namespace portico::tables {
namespace {

constexpr size_t kMaxDigits = 38;
// 0.D × 10^E with D's first digit non-zero: E is between -129 (1E-130) and 126
// (9.99...E+125).
constexpr int64_t kMinExponent = -129;
constexpr int64_t kMaxExponent = 126;
// An exponent past this is out of range whatever the digits (and cannot overflow).
constexpr int64_t kExponentCap = 1'000'000;

Error invalid(std::string_view text) {
  if (text.empty()) return Error{"The parameter cannot be converted to a numeric value"};
  return Error{"The parameter cannot be converted to a numeric value: " + std::string(text)};
}

// a - b for digit strings of equal length with a >= b.
std::string subtract_digits(const std::string& a, const std::string& b) {
  std::string out(a.size(), '0');
  int borrow = 0;
  for (size_t i = a.size(); i-- > 0;) {
    int d = (a[i] - '0') - (b[i] - '0') - borrow;
    borrow = d < 0 ? 1 : 0;
    out[i] = static_cast<char>('0' + (d + 10 * borrow));
  }
  return out;
}

std::string add_digits(const std::string& a, const std::string& b) {
  std::string out(a.size() + 1, '0');
  int carry = 0;
  for (size_t i = a.size(); i-- > 0;) {
    int d = (a[i] - '0') + (b[i] - '0') + carry;
    carry = d / 10;
    out[i + 1] = static_cast<char>('0' + d % 10);
  }
  out[0] = static_cast<char>('0' + carry);
  return out;
}

}  // namespace

Result<Number> Number::make(bool negative, std::string digits, int64_t exponent) {
  Number n;
  if (digits.empty()) return n;  // zero, whatever its sign or exponent
  // The range is checked first, as DynamoDB does (1E+200 is an overflow, whatever its
  // digits).
  if (exponent > kMaxExponent)
    return Error{
        "Number overflow. Attempting to store a number with magnitude larger than supported range"};
  if (exponent < kMinExponent)
    return Error{
        "Number underflow. Attempting to store a number with magnitude smaller than supported "
        "range"};
  if (digits.size() > kMaxDigits)
    return Error{"Attempting to store more than 38 significant digits in a Number"};
  n.negative_ = negative;
  n.digits_ = std::move(digits);
  n.exponent_ = static_cast<int32_t>(exponent);
  return n;
}

Result<Number> Number::parse(std::string_view text) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  std::string all;  // every mantissa digit, the point removed
  size_t before_point = 0;
  bool point = false, any_digit = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c >= '0' && c <= '9') {
      any_digit = true;
      // Leading zeros carry no information but their place: drop them as they come.
      if (all.empty() && c == '0') {
        if (!point) continue;
      }
      all.push_back(c);
      if (!point) ++before_point;
    } else if (c == '.' && !point) {
      point = true;
    } else {
      break;
    }
  }
  if (!any_digit) return invalid(text);
  int64_t exp = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) exp_negative = text[i++] == '-';
    size_t start = i;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i)
      exp = std::min<int64_t>(exp * 10 + (text[i] - '0'), kExponentCap);
    if (i == start) return invalid(text);
    if (exp_negative) exp = -exp;
  }
  if (i != text.size()) return invalid(text);
  // all = the digits after the leading zeros of the integer part; zeros right after the
  // point are in it too: strip those, each moving the point one place.
  int64_t point_at = static_cast<int64_t>(before_point);  // digits of `all` before the point
  size_t lead = 0;
  while (lead < all.size() && all[lead] == '0') ++lead;
  all.erase(0, lead);
  point_at -= static_cast<int64_t>(lead);
  while (!all.empty() && all.back() == '0') all.pop_back();
  return make(negative, std::move(all), point_at + exp);
}

std::string Number::to_string() const {
  if (digits_.empty()) return "0";
  std::string out = negative_ ? "-" : "";
  int64_t e = exponent_, n = static_cast<int64_t>(digits_.size());
  if (e <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-e), '0');
    out += digits_;
  } else if (e < n) {
    out.append(digits_, 0, static_cast<size_t>(e));
    out += '.';
    out.append(digits_, static_cast<size_t>(e));
  } else {
    out += digits_;
    out.append(static_cast<size_t>(e - n), '0');
  }
  return out;
}

int Number::compare(const Number& other) const {
  int sa = is_zero() ? 0 : negative_ ? -1 : 1;
  int sb = other.is_zero() ? 0 : other.negative_ ? -1 : 1;
  if (sa != sb) return sa < sb ? -1 : 1;
  if (sa == 0) return 0;
  // Same sign: compare magnitudes, then flip for negatives.
  int magnitude;
  if (exponent_ != other.exponent_) {
    magnitude = exponent_ < other.exponent_ ? -1 : 1;
  } else {
    int c = digits_.compare(other.digits_);
    magnitude = c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  return sa > 0 ? magnitude : -magnitude;
}

Result<Number> Number::add(const Number& a, const Number& b) {
  if (a.is_zero()) return b;
  if (b.is_zero()) return a;
  // Both as integers of digits at one scale: the digit of weight 10^low is the last.
  auto low = [](const Number& n) {
    return static_cast<int64_t>(n.exponent_) - static_cast<int64_t>(n.digits_.size());
  };
  int64_t lsb = std::min(low(a), low(b));
  int64_t msb = std::max<int64_t>(a.exponent_, b.exponent_);
  size_t width = static_cast<size_t>(msb - lsb);
  auto widen = [&](const Number& n) {
    std::string s(static_cast<size_t>(msb - n.exponent_), '0');
    s += n.digits_;
    s.append(width - s.size(), '0');
    return s;
  };
  std::string x = widen(a), y = widen(b);
  std::string sum;
  bool negative;
  if (a.negative_ == b.negative_) {
    sum = add_digits(x, y);
    negative = a.negative_;
    ++msb;  // add_digits gave one more leading place
  } else if (x >= y) {
    sum = subtract_digits(x, y);
    negative = a.negative_;
  } else {
    sum = subtract_digits(y, x);
    negative = b.negative_;
  }
  size_t lead = 0;
  while (lead < sum.size() && sum[lead] == '0') ++lead;
  sum.erase(0, lead);
  while (!sum.empty() && sum.back() == '0') sum.pop_back();
  return make(negative, std::move(sum), msb - static_cast<int64_t>(lead));
}

Result<Number> Number::subtract(const Number& a, const Number& b) {
  Number negated = b;
  if (!negated.is_zero()) negated.negative_ = !negated.negative_;
  return add(a, negated);
}

// 0x01 negative, 0x02 zero, 0x03 positive; then the exponent (one byte: -129..126 maps
// onto 0..255) and the digits, terminated by a byte below every digit. A negative
// number's exponent and digits are complemented (and its terminator is above every
// digit), so that a larger magnitude sorts first.
std::string Number::sort_key() const {
  if (digits_.empty()) return std::string(1, '\x02');
  std::string out;
  out.reserve(digits_.size() + 3);
  auto e = static_cast<unsigned char>(exponent_ - kMinExponent);
  if (!negative_) {
    out.push_back('\x03');
    out.push_back(static_cast<char>(e));
    out += digits_;
    out.push_back('\x00');
  } else {
    out.push_back('\x01');
    out.push_back(static_cast<char>(255 - e));
    for (char d : digits_) out.push_back(static_cast<char>('9' - d + '0'));
    out.push_back('\xff');
  }
  return out;
}

}  // namespace portico::tables
