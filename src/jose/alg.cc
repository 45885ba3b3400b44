#include "sesame/jose/alg.h"

namespace sesame::jose {

std::string_view algName(Alg alg) {
  switch (alg) {
    case Alg::kRS256:
      return "RS256";
    case Alg::kPS256:
      return "PS256";
    case Alg::kES256:
      return "ES256";
    case Alg::kEdDSA:
      return "EdDSA";
  }
  return "";
}

std::optional<Alg> algFromName(std::string_view name) {
  for (Alg alg : {Alg::kRS256, Alg::kPS256, Alg::kES256, Alg::kEdDSA})
    if (name == algName(alg)) return alg;
  return std::nullopt;
}

KeyType keyTypeFor(Alg alg) {
  switch (alg) {
    case Alg::kRS256:
    case Alg::kPS256:
      return KeyType::kRsa;
    case Alg::kES256:
      return KeyType::kEcP256;
    case Alg::kEdDSA:
      return KeyType::kEd25519;
  }
  return KeyType::kRsa;
}

}  // namespace sesame::jose
