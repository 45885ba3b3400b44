// Test helpers for the identity module: key generation and an independent
// JWS check built on OpenSSL and jansson directly, not on the code under test.
#pragma once

#include <jansson.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/base/c_handle.h"

namespace identity_test {

struct JsonDecref {
  void operator()(json_t* j) const { json_decref(j); }
};
using JsonPtr = std::unique_ptr<json_t, JsonDecref>;

// A fresh private key as PKCS#8 PEM: "EC" with a curve name ("P-256",
// "P-384"), "ED25519", "ED448" or "RSA".
std::string generatePem(const std::string& type, const std::string& curve = "");
// A private key as PKCS#8 PEM.
std::string pemOf(const sesame::EvpPkeyPtr& key);

// Strict parse (duplicates refused); null on any error.
JsonPtr parseJson(std::string_view text);

struct DecodedJws {
  std::string signing_input;  // header.payload, as signed
  JsonPtr header;
  JsonPtr payload;
  std::string signature;  // raw bytes
};
// Splits a compact JWS and decodes its three parts; nullopt when malformed.
std::optional<DecodedJws> decodeJws(std::string_view token);

// The public key a JWK object (kty EC/P-256 or OKP/Ed25519) describes,
// rebuilt with OpenSSL from its x (and y) members alone.
sesame::EvpPkeyPtr publicKeyFromJwk(const json_t* jwk);

// Verifies `signature` (JWS form: R || S for ES256) over `input` with `key`.
bool verifyJwsSignature(const std::string& alg, const sesame::EvpPkeyPtr& key,
                        std::string_view input, std::string_view signature);

// Decodes `token`, finds the header's kid in the JWKS text, rebuilds that
// public key and verifies the signature with the JWK's alg.
bool verifyWithJwks(std::string_view token, std::string_view jwks_json);

// A JSON string member of `object`, "" when absent or not a string.
std::string stringMember(const json_t* object, const char* name);

}  // namespace identity_test
