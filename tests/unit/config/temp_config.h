// Test support for config/: a private temporary directory holding files
// that a test writes and then loads.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "sesame/config/config.h"

namespace sesame::config::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sesame-config-XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    if (made == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }

  // Writes `text` to `name` (relative to the directory, parents created) and
  // returns the full path.
  std::string write(const std::string& name, std::string_view text) const {
    std::filesystem::path file = std::filesystem::path(path_) / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
    return file.string();
  }

  // Writes sesame.toml and loads it.
  [[nodiscard]] LoadResult load(std::string_view text) const {
    return config::load(write("sesame.toml", text));
  }

 private:
  std::string path_;
};

// True when one error is at sesame.toml:`position` and mentions every `part`.
template <typename... Parts>
bool hasError(const LoadResult& result, const std::string& position, const Parts&... parts) {
  for (const std::string& e : result.errors) {
    if (e.find("sesame.toml:" + position + ": ") == std::string::npos) continue;
    if ((... && (e.find(parts) != std::string::npos))) return true;
  }
  return false;
}

// Every error on its own line, for INFO() when an assertion fails.
inline std::string joinErrors(const LoadResult& result) {
  std::string out;
  for (const std::string& e : result.errors) out += e + "\n";
  return out;
}

// A valid configuration to break one key at a time.
inline constexpr std::string_view kMinimal = R"([[listen]]
address = "127.0.0.1:8080"

[upstream.app]
servers = ["127.0.0.1:9000"]

[[route]]
path = "/"
upstream = "app"
)";

}  // namespace sesame::config::testing
