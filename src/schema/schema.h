// JSON Schema (draft 2020-12 and draft-07, chosen by each resource's $schema) compiled
// once into a validation program over simdjson's DOM, with RE2 for `pattern`.
//
//   SchemaSet set;                              // per config load
//   set.add("file:///etc/portico/order.json", text);   // every document, by its URI
//   auto schema = set.compile("file:///etc/portico/order.json");  // with all it references
//   std::vector<Violation> v;
//   (*schema)->validate(instance, &v);          // every failing location, or nullptr: first only
//
// A compiled Schema is immutable and used by any number of threads at once. Documents
// reference each other by URI ($ref against the base URI, $id, $anchor, $dynamicAnchor);
// a reference to a URI that was not added is a compile error (nothing is fetched).
// Violations name the instance location (a JSON Pointer), the keyword and a message,
// for the keywords that failed themselves: an object failing because a property
// failed reports the property, not both. Combinators (anyOf, oneOf, not, contains,
// if/then via its branch) report their own failure at the instance they looked at.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace simdjson::dom {
class element;
}

namespace portico::schema {

enum class Draft : uint8_t { k7, k2020_12 };

// JSON's types as bits (a `type` keyword's set).
enum TypeBit : uint8_t {
  kTypeNull = 1,
  kTypeBoolean = 2,
  kTypeObject = 4,
  kTypeArray = 8,
  kTypeNumber = 16,
  kTypeString = 32,
  kTypeInteger = 64,
};

struct Options {
  Draft default_draft = Draft::k2020_12;  // for resources without a known $schema
  // `format` as an assertion (email, date-time, date, time, uuid, uri, hostname, ipv4,
  // ipv6). The specifications make it an annotation unless asked; a gateway asks.
  bool assert_formats = true;
  // A reference to a file:// URI that was not added reads that file (schemas that
  // $ref their neighbours on disk); otherwise it is an error.
  bool load_files = false;
  // Where the drafts' metaschemas are read from when a schema $refs one
  // (http://json-schema.org/draft-07/schema, https://json-schema.org/draft/2020-12/schema
  // and its meta/* vocabularies): Debian's python3-jsonschema ships them as data files.
  // Empty: a reference to a metaschema is an unknown schema like any other.
  static constexpr const char* kDebianMetaschemas =
      "/usr/lib/python3/dist-packages/jsonschema/schemas";
  std::string metaschema_dir = kDebianMetaschemas;
};

struct Violation {
  std::string pointer;  // in the instance, RFC 6901 ("" is the whole document)
  std::string keyword;  // the failing keyword ("required", "pattern", ...)
  std::string message;
};

// A property an object schema names, with the types its schema allows (TypeBit sets;
// 0: no `type` said). For callers that build the instance from strings (query
// parameters, headers) and must decide which strings to read as numbers or booleans.
struct DeclaredProperty {
  std::string name;
  uint8_t types = 0;
  uint8_t item_types = 0;  // of its `items`, for an array
};

struct CompiledSchema;  // the program (schema/program.h)

class Schema {
 public:
  explicit Schema(std::shared_ptr<const CompiledSchema> program) : program_(std::move(program)) {}
  // out == nullptr: stop at the first failure (the fast yes/no); else append every
  // violation to out.
  bool validate(const simdjson::dom::element& instance, std::vector<Violation>* out) const;
  // The files compiling it read (Options::load_files), for a caller that watches them.
  const std::vector<std::string>& files() const;
  // The properties the root names in `properties` (through `$ref` and `allOf`), sorted
  // by name; the first schema that says a `type` for one decides.
  std::vector<DeclaredProperty> declared_properties() const;

 private:
  std::shared_ptr<const CompiledSchema> program_;
};

class SchemaSet {
 public:
  explicit SchemaSet(Options options = {});
  ~SchemaSet();
  SchemaSet(const SchemaSet&) = delete;
  SchemaSet& operator=(const SchemaSet&) = delete;

  // A document known by its absolute URI (no fragment). Errors: not JSON.
  Result<void> add(std::string uri, std::string_view json);
  // The schema at `uri` (a document's URI, or one of its $ids, with an optional #fragment:
  // a JSON Pointer or an anchor). Errors name the document and the JSON Pointer of the
  // schema at fault ("file:///x/order.json#/properties/id/pattern: ...").
  Result<std::shared_ptr<const Schema>> compile(std::string_view uri);

  struct Documents;  // the added documents, their resources and anchors (compiler.cc)

 private:
  Options options_;
  std::shared_ptr<Documents> docs_;
};

// RFC 3986 section 5.2: `ref` resolved against the absolute URI `base`.
std::string resolve_uri(std::string_view base, std::string_view ref);

}  // namespace portico::schema
