//===- json.cpp - A small strict JSON reader for manifests ----------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "json.h"

#include <charconv>
#include <cmath>
#include <cstdio>

using namespace attn::rt::json;

const char *attn::rt::json::kindName(Kind kind) {
  switch (kind) {
  case Kind::Null:
    return "null";
  case Kind::Bool:
    return "a boolean";
  case Kind::Number:
    return "a number";
  case Kind::String:
    return "a string";
  case Kind::Array:
    return "an array";
  case Kind::Object:
    return "an object";
  }
  return "?";
}

const Value *Value::find(std::string_view key) const {
  if (kind != Kind::Object)
    return nullptr;
  for (size_t i = 0; i < keys.size(); ++i)
    if (keys[i] == key)
      return &items[i];
  return nullptr;
}

namespace {

class Parser {
public:
  Parser(std::string_view input, const Limits &bounds)
      : text(input), limits(bounds) {}

  bool run(Value &out) {
    if (text.size() > limits.maxBytes)
      return fail("the text is " + std::to_string(text.size()) +
                  " bytes, more than the limit of " +
                  std::to_string(limits.maxBytes));
    skipSpace();
    if (!value(out, 0))
      return false;
    skipSpace();
    if (pos != text.size())
      return fail("unexpected text after the JSON value");
    return true;
  }

  std::string error;

private:
  bool fail(const std::string &what) {
    // Report where the reader stopped; lines and columns are what an editor
    // shows, byte offsets are not.
    size_t line = 1, column = 1;
    for (size_t i = 0; i < pos && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    error = "line " + std::to_string(line) + ", column " +
            std::to_string(column) + ": " + what;
    return false;
  }

  bool atEnd() const { return pos >= text.size(); }
  char peek() const { return atEnd() ? '\0' : text[pos]; }

  void skipSpace() {
    while (!atEnd() && (text[pos] == ' ' || text[pos] == '\t' ||
                        text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }

  bool literal(const char *word) {
    size_t n = std::char_traits<char>::length(word);
    if (text.substr(pos, n) != word)
      return fail(std::string("invalid literal (expected '") + word + "')");
    pos += n;
    return true;
  }

  bool value(Value &out, int depth) {
    if (++count > limits.maxValues)
      return fail("more than " + std::to_string(limits.maxValues) +
                  " values");
    if (atEnd())
      return fail("unexpected end of text, expected a value");
    switch (peek()) {
    case '{':
      return object(out, depth);
    case '[':
      return array(out, depth);
    case '"':
      out.kind = Kind::String;
      return string(out.string);
    case 't':
      out.kind = Kind::Bool;
      out.boolean = true;
      return literal("true");
    case 'f':
      out.kind = Kind::Bool;
      out.boolean = false;
      return literal("false");
    case 'n':
      out.kind = Kind::Null;
      return literal("null");
    default:
      if (peek() == '-' || (peek() >= '0' && peek() <= '9'))
        return number(out);
      return fail(std::string("unexpected character ") + describe(peek()) +
                  ", expected a value");
    }
  }

  static std::string describe(char c) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f)
      return std::string("'") + c + "'";
    char buffer[8];
    std::snprintf(buffer, sizeof buffer, "0x%02x", u);
    return buffer;
  }

  bool enter(int depth) {
    if (depth + 1 > limits.maxDepth)
      return fail("nesting deeper than " + std::to_string(limits.maxDepth) +
                  " levels");
    return true;
  }

  bool object(Value &out, int depth) {
    if (!enter(depth))
      return false;
    out.kind = Kind::Object;
    ++pos; // '{'
    skipSpace();
    if (peek() == '}') {
      ++pos;
      return true;
    }
    for (;;) {
      skipSpace();
      if (peek() != '"')
        return fail(atEnd() ? "unexpected end of text inside an object"
                            : "expected a string key in an object");
      std::string key;
      if (!string(key))
        return false;
      for (const std::string &seen : out.keys)
        if (seen == key)
          return fail("duplicate key " + quote(key));
      skipSpace();
      if (peek() != ':')
        return fail("expected ':' after the key " + quote(key));
      ++pos;
      skipSpace();
      out.keys.push_back(std::move(key));
      out.items.emplace_back();
      if (!value(out.items.back(), depth + 1))
        return false;
      skipSpace();
      if (peek() == ',') {
        ++pos;
        continue;
      }
      if (peek() == '}') {
        ++pos;
        return true;
      }
      return fail(atEnd() ? "unexpected end of text inside an object"
                          : "expected ',' or '}' in an object");
    }
  }

  bool array(Value &out, int depth) {
    if (!enter(depth))
      return false;
    out.kind = Kind::Array;
    ++pos; // '['
    skipSpace();
    if (peek() == ']') {
      ++pos;
      return true;
    }
    for (;;) {
      skipSpace();
      out.items.emplace_back();
      if (!value(out.items.back(), depth + 1))
        return false;
      skipSpace();
      if (peek() == ',') {
        ++pos;
        continue;
      }
      if (peek() == ']') {
        ++pos;
        return true;
      }
      return fail(atEnd() ? "unexpected end of text inside an array"
                          : "expected ',' or ']' in an array");
    }
  }

  static int hexDigit(char c) {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  }

  bool hex4(uint32_t &code) {
    code = 0;
    for (int i = 0; i < 4; ++i) {
      int d = hexDigit(peek());
      if (atEnd() || d < 0)
        return fail("\\u needs four hex digits");
      code = code * 16 + static_cast<uint32_t>(d);
      ++pos;
    }
    return true;
  }

  static void appendUtf8(std::string &out, uint32_t code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xc0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xe0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (code & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (code & 0x3f));
    }
  }

  /// Length of the valid UTF-8 sequence at `pos`, or 0 (overlong forms,
  /// surrogates and code points above U+10FFFF are invalid).
  size_t utf8Length() const {
    auto at = [&](size_t i) -> unsigned {
      return pos + i < text.size() ? static_cast<unsigned char>(text[pos + i])
                                   : 0u;
    };
    auto cont = [&](size_t i) { return (at(i) & 0xc0) == 0x80; };
    unsigned c = at(0);
    if (c >= 0xc2 && c <= 0xdf)
      return cont(1) ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
      if (!cont(1) || !cont(2))
        return 0;
      if (c == 0xe0 && at(1) < 0xa0)
        return 0; // overlong
      if (c == 0xed && at(1) >= 0xa0)
        return 0; // UTF-16 surrogate
      return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
      if (!cont(1) || !cont(2) || !cont(3))
        return 0;
      if (c == 0xf0 && at(1) < 0x90)
        return 0; // overlong
      if (c == 0xf4 && at(1) >= 0x90)
        return 0; // above U+10FFFF
      return 4;
    }
    return 0;
  }

  bool string(std::string &out) {
    ++pos; // '"'
    out.clear();
    for (;;) {
      if (atEnd())
        return fail("unexpected end of text inside a string");
      if (out.size() > limits.maxStringBytes)
        return fail("a string longer than " +
                    std::to_string(limits.maxStringBytes) + " bytes");
      unsigned char c = static_cast<unsigned char>(text[pos]);
      if (c == '"') {
        ++pos;
        return true;
      }
      if (c < 0x20)
        return fail("control character " + describe(static_cast<char>(c)) +
                    " inside a string (escape it)");
      if (c >= 0x80) {
        size_t n = utf8Length();
        if (n == 0)
          return fail("invalid UTF-8 inside a string");
        out.append(text.substr(pos, n));
        pos += n;
        continue;
      }
      if (c != '\\') {
        out += static_cast<char>(c);
        ++pos;
        continue;
      }
      ++pos; // '\\'
      if (atEnd())
        return fail("unexpected end of text inside a string escape");
      char e = text[pos++];
      switch (e) {
      case '"':
      case '\\':
      case '/':
        out += e;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        uint32_t code;
        if (!hex4(code))
          return false;
        if (code >= 0xdc00 && code <= 0xdfff)
          return fail("\\u escape of a lone low surrogate");
        if (code >= 0xd800 && code <= 0xdbff) {
          uint32_t low;
          if (text.substr(pos, 2) != "\\u")
            return fail("\\u escape of a lone high surrogate");
          pos += 2;
          if (!hex4(low))
            return false;
          if (low < 0xdc00 || low > 0xdfff)
            return fail("\\u high surrogate not followed by a low one");
          code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        }
        appendUtf8(out, code);
        break;
      }
      default:
        --pos;
        return fail("invalid escape \\" + describe(e));
      }
    }
  }

  bool number(Value &out) {
    const size_t start = pos;
    auto digits = [&] {
      size_t n = 0;
      while (!atEnd() && text[pos] >= '0' && text[pos] <= '9') {
        ++pos;
        ++n;
      }
      return n;
    };
    bool integral = true;
    if (peek() == '-')
      ++pos;
    if (peek() == '0') {
      ++pos;
      if (peek() >= '0' && peek() <= '9')
        return fail("a number with a leading zero");
    } else if (digits() == 0) {
      return fail("'-' not followed by digits");
    }
    if (peek() == '.') {
      integral = false;
      ++pos;
      if (digits() == 0)
        return fail("'.' not followed by digits in a number");
    }
    if (peek() == 'e' || peek() == 'E') {
      integral = false;
      ++pos;
      if (peek() == '+' || peek() == '-')
        ++pos;
      if (digits() == 0)
        return fail("an exponent without digits in a number");
    }
    const char *first = text.data() + start, *last = text.data() + pos;
    out.kind = Kind::Number;
    if (integral) {
      int64_t v = 0;
      auto [end, ec] = std::from_chars(first, last, v);
      if (ec == std::errc() && end == last) {
        out.isInteger = true;
        out.integer = v;
        out.number = static_cast<double>(v);
        return true;
      }
      // Out of int64's range: kept as a double only, so readers that need
      // an exact integer refuse it.
    }
    double d = 0;
    // from_chars, unlike strtod, ignores the C locale: a host application
    // that set LC_NUMERIC to "de_DE" must not change how manifests read.
    auto [end, ec] = std::from_chars(first, last, d);
    if (end != last || (ec != std::errc() && ec != std::errc::result_out_of_range))
      return fail("invalid number");
    if (ec == std::errc::result_out_of_range || !std::isfinite(d))
      return fail("number out of range");
    out.number = d;
    return true;
  }

  std::string_view text;
  const Limits &limits;
  size_t pos = 0;
  size_t count = 0;
};

} // namespace

bool attn::rt::json::parse(std::string_view text, Value &out,
                           std::string &error, const Limits &limits) {
  out = Value();
  Parser parser(text, limits);
  if (parser.run(out))
    return true;
  error = parser.error;
  out = Value();
  return false;
}

std::string attn::rt::json::quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", u);
      out += escape;
    } else {
      out += c;
    }
  }
  return out + "\"";
}
