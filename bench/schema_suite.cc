// schema_suite: runs Portico's JSON Schema validator over the official
// JSON-Schema-Test-Suite (a development check, not a test: the suite is not in this
// repository) and prints the pass count per file and in total.
//
// usage: schema_suite SUITE_DIR [draft7|draft2020-12 ...] [-v]
//   SUITE_DIR holds <draft>/*.json (the required tests) and remotes/ (served by the
//   suite's own runner as http://localhost:1234/; here added to the schema set under
//   those URLs). Formats are annotations here, as both drafts say by default (Portico's
//   routes assert them); -v prints every failing test.
#include <simdjson.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "schema/schema.h"

namespace fs = std::filesystem;
namespace dom = simdjson::dom;
using portico::schema::Draft;

namespace {

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Tally {
  int passed = 0, total = 0;
};

void add_remotes(portico::schema::SchemaSet& set, const fs::path& remotes) {
  for (const auto& entry : fs::recursive_directory_iterator(remotes)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".json") continue;
    std::string url =
        "http://localhost:1234/" + fs::relative(entry.path(), remotes).generic_string();
    (void)set.add(url, read(entry.path()));
  }
}

Tally run_file(const fs::path& file, const fs::path& remotes, Draft draft, bool verbose) {
  Tally tally;
  std::string text = read(file);
  dom::parser parser;
  dom::element groups;
  if (parser.parse(text).get(groups) != simdjson::SUCCESS) {
    std::fprintf(stderr, "%s: not JSON\n", file.c_str());
    return tally;
  }
  int index = 0;
  for (dom::element group : dom::array(groups)) {
    std::string_view description = group["description"];
    portico::schema::Options options;
    options.default_draft = draft;
    options.assert_formats = false;
    portico::schema::SchemaSet set(options);
    add_remotes(set, remotes);
    std::string uri =
        "file:///suite/" + file.filename().string() + "/" + std::to_string(index++) + ".json";
    auto added = set.add(uri, simdjson::minify(group["schema"].value()));
    auto schema = added ? set.compile(uri) : decltype(set.compile(uri))(added.error());
    for (dom::element test : dom::array(group["tests"])) {
      ++tally.total;
      bool expected = bool(test["valid"]);
      std::string_view test_description = test["description"];
      if (!schema) {
        if (verbose) {
          std::printf("  FAIL %s: %s / %.*s: compile: %s\n", file.filename().c_str(),
                      std::string(description).c_str(), static_cast<int>(test_description.size()),
                      test_description.data(), schema.error().message.c_str());
        }
        continue;
      }
      std::vector<portico::schema::Violation> violations;
      bool fast = (*schema)->validate(test["data"], nullptr);
      bool full = (*schema)->validate(test["data"], &violations);
      // Both modes must agree, and a failure must say where.
      bool consistent = fast == full && (full || !violations.empty());
      if (fast == expected && consistent) {
        ++tally.passed;
      } else if (verbose) {
        std::printf("  FAIL %s: %s / %.*s (expected %s, got %s%s)\n", file.filename().c_str(),
                    std::string(description).c_str(), static_cast<int>(test_description.size()),
                    test_description.data(), expected ? "valid" : "invalid",
                    fast ? "valid" : "invalid", consistent ? "" : "; the two modes disagree");
      }
    }
  }
  return tally;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: schema_suite SUITE_DIR [draft7|draft2020-12 ...] [-v]\n");
    return 2;
  }
  fs::path suite = argv[1];
  bool verbose = false;
  std::vector<std::string> drafts;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-v") {
      verbose = true;
    } else {
      drafts.push_back(a);
    }
  }
  if (drafts.empty()) drafts = {"draft7", "draft2020-12"};
  for (const std::string& name : drafts) {
    Draft draft = name == "draft7" ? Draft::k7 : Draft::k2020_12;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(suite / name)) {
      if (entry.path().extension() == ".json") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    Tally all;
    for (const fs::path& file : files) {
      Tally t = run_file(file, suite / "remotes", draft, verbose);
      all.passed += t.passed;
      all.total += t.total;
      if (verbose || t.passed != t.total)
        std::printf("%s %s: %d/%d\n", name.c_str(), file.filename().c_str(), t.passed, t.total);
    }
    std::printf("%s: %d of %d required tests pass (%.1f%%)\n", name.c_str(), all.passed, all.total,
                all.total > 0 ? 100.0 * all.passed / all.total : 0.0);
  }
  return 0;
}
