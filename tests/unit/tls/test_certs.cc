#include "test_certs.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace sesame::tls::testing {
namespace {

using BioPtr = std::unique_ptr<BIO, CFree<BIO_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, CFree<X509_EXTENSION_free>>;

constexpr long kSecondsPerDay = 24 * 60 * 60;

// Test setup failures are bugs in the test, not outcomes to assert on.
void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test_certs: ") + what);
}

std::string memBioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

void addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  require(ext && X509_add_ext(cert, ext.get(), -1) == 1, "add extension");
}

}  // namespace

TempDir::TempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/sesame-tls-test-XXXXXX";
  require(mkdtemp(pattern.data()) != nullptr, "mkdtemp");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::file(std::string_view name) const {
  return path_ + "/" + std::string(name);
}

std::string TempDir::write(std::string_view name, std::string_view contents) const {
  std::string path = file(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  require(out.good(), "write file");
  return path;
}

EvpPkeyPtr makeKey(KeyType type) {
  EvpPkeyPtr key(type == KeyType::kEcdsaP256 ? EVP_EC_gen("P-256")
                 : type == KeyType::kRsa2048 ? EVP_RSA_gen(2048)
                                             : EVP_RSA_gen(1024));
  require(key != nullptr, "generate key");
  return key;
}

KeyPair makeCertificate(const CertOptions& options, const KeyPair* issuer) {
  static std::atomic<long> serial{1};
  KeyPair pair{makeKey(options.key_type), X509Ptr(X509_new())};
  X509* cert = pair.cert.get();
  require(cert != nullptr, "X509_new");
  X509_set_version(cert, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert), options.not_before_days * kSecondsPerDay);
  X509_gmtime_adj(X509_getm_notAfter(cert), options.not_after_days * kSecondsPerDay);
  require(X509_set_pubkey(cert, pair.key.get()) == 1, "set public key");
  X509_NAME* subject = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(options.common_name.c_str()),
                             -1, -1, 0);
  X509* issuer_cert = issuer != nullptr ? issuer->cert.get() : cert;
  X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert));

  addExtension(cert, issuer_cert, NID_basic_constraints,
               options.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  addExtension(cert, issuer_cert, NID_subject_key_identifier, "hash");
  if (!options.dns_names.empty()) {
    std::string sans;
    for (const std::string& name : options.dns_names) {
      sans += (sans.empty() ? "DNS:" : ",DNS:") + name;
    }
    addExtension(cert, issuer_cert, NID_subject_alt_name, sans);
  }
  EVP_PKEY* signer = issuer != nullptr ? issuer->key.get() : pair.key.get();
  require(X509_sign(cert, signer, EVP_sha256()) > 0, "sign certificate");
  return pair;
}

std::string toPem(x509_st* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  require(bio && PEM_write_bio_X509(bio.get(), cert) == 1, "write certificate PEM");
  return memBioContents(bio.get());
}

std::string toPem(evp_pkey_st* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  require(
      bio && PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
      "write key PEM");
  return memBioContents(bio.get());
}

CertFiles writeFiles(const TempDir& dir, std::string_view name, const KeyPair& pair,
                     const std::vector<const KeyPair*>& chain) {
  std::string pem = toPem(pair.cert.get());
  for (const KeyPair* ca : chain) pem += toPem(ca->cert.get());
  std::string base(name);
  return CertFiles{dir.write(base + ".pem", pem), dir.write(base + ".key", toPem(pair.key.get()))};
}

CertFiles makeCertificateFiles(const TempDir& dir, std::string_view name,
                               const CertOptions& options) {
  return writeFiles(dir, name, makeCertificate(options));
}

}  // namespace sesame::tls::testing
