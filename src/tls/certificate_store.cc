#include "certificate_store.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <system_error>

#include "openssl_error.h"

namespace sesame::tls {
namespace {

// Certificate and key files are small; a limit keeps a path mistyped as a
// device or a log file from being read whole.
constexpr size_t kMaxFileBytes = 1 << 20;

// Never prompt on the terminal for a passphrase: a daemon has none to give.
int noPassphrase(char*, int, int, void*) {
  return -1;
}

bool readFile(const std::string& path, const char* what, std::string& out,
              std::vector<std::string>& errors) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    errors.push_back(path + ": cannot read " + what + ": " +
                     std::generic_category().message(errno));
    return false;
  }
  out.resize(kMaxFileBytes + 1);
  size_t n = std::fread(out.data(), 1, out.size(), f);
  bool failed = std::ferror(f) != 0;
  int saved_errno = errno;
  std::fclose(f);
  if (failed) {
    errors.push_back(path + ": cannot read " + what + ": " +
                     std::generic_category().message(saved_errno));
    return false;
  }
  if (n > kMaxFileBytes) {
    errors.push_back(path + ": " + what + " file is larger than 1 MiB; is this the right file?");
    return false;
  }
  out.resize(n);
  return true;
}

// PEM_R_NO_START_LINE after the last block only means "no more PEM blocks".
bool onlyEndOfPem() {
  unsigned long e = ERR_peek_last_error();
  return e == 0 || (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE);
}

bool loadChain(const std::string& path, LoadedCertificate& out, std::vector<std::string>& errors) {
  std::string pem;
  if (!readFile(path, "certificate", pem, errors)) return false;
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    errors.push_back(path + ": " + takeOpenSslError("out of memory"));
    return false;
  }
  // The first certificate is the leaf, the rest its chain, as
  // SSL_CTX_use_certificate_chain_file() reads it.
  out.leaf.reset(PEM_read_bio_X509_AUX(bio.get(), nullptr, noPassphrase, nullptr));
  if (!out.leaf) {
    errors.push_back(
        onlyEndOfPem()
            ? path + ": no PEM certificate found (expected \"-----BEGIN CERTIFICATE-----\")"
            : path + ": malformed certificate: " + takeOpenSslError("unknown error"));
    ERR_clear_error();
    return false;
  }
  while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, noPassphrase, nullptr)) {
    out.chain.emplace_back(ca);
  }
  if (!onlyEndOfPem()) {
    errors.push_back(path + ": certificate " + std::to_string(out.chain.size() + 2) +
                     " in the chain is malformed: " + takeOpenSslError("unknown error"));
    return false;
  }
  ERR_clear_error();
  return true;
}

bool loadKey(const std::string& path, LoadedCertificate& out, std::vector<std::string>& errors) {
  std::string pem;
  if (!readFile(path, "private key", pem, errors)) return false;
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio) out.key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr));
  // OpenSSL 3's decoders report "unsupported" for text with no key at all,
  // so tell the operator's likely mistakes apart from the text itself.
  bool has_key_block = pem.find("PRIVATE KEY-----") != std::string::npos;
  bool encrypted = pem.find("ENCRYPTED") != std::string::npos;
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!out.key) {
    if (encrypted) {
      errors.push_back(path +
                       ": private key is encrypted; sesame needs an unencrypted key "
                       "(protect it with file permissions)");
    } else if (!has_key_block) {
      errors.push_back(path +
                       ": no PEM private key found (expected \"-----BEGIN PRIVATE KEY-----\")");
    } else {
      errors.push_back(path + ": malformed private key: " + takeOpenSslError("unknown error"));
    }
    ERR_clear_error();
    return false;
  }
  int type = EVP_PKEY_get_base_id(out.key.get());
  if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC) {
    const char* name = OBJ_nid2sn(type);
    errors.push_back(path + ": private key type " + (name != nullptr ? name : "unknown") +
                     " is not supported; use RSA or ECDSA");
    return false;
  }
  return true;
}

std::string formatTime(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return "an unreadable date";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// A certificate out of its validity period still serves (clients decide),
// but the operator should hear about it at start and on `sesame -t`.
void checkValidity(const LoadedCertificate& c, std::vector<std::string>& warnings) {
  const ASN1_TIME* not_after = X509_get0_notAfter(c.leaf.get());
  const ASN1_TIME* not_before = X509_get0_notBefore(c.leaf.get());
  if (X509_cmp_current_time(not_after) <= 0) {
    warnings.push_back(c.cert_path + ": certificate expired on " + formatTime(not_after));
  } else if (X509_cmp_current_time(not_before) >= 0) {
    warnings.push_back(c.cert_path + ": certificate is not valid until " + formatTime(not_before));
  }
}

std::string lowerCase(std::string_view s) {
  std::string out(s);
  for (char& ch : out) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  return out;
}

std::vector<std::string> dnsNames(X509* cert) {
  std::vector<std::string> names;
  GeneralNamesPtr sans(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
    if (gn->type != GEN_DNS) continue;
    const ASN1_IA5STRING* s = gn->d.dNSName;
    names.push_back(
        lowerCase(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                   static_cast<size_t>(ASN1_STRING_length(s)))));
  }
  if (!names.empty()) return names;
  // RFC 6125 §6.4.4: the CN names the host only when there is no DNS SAN.
  X509_NAME* subject = X509_get_subject_name(cert);
  int pos = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (pos < 0) return names;
  unsigned char* raw = nullptr;
  int len = ASN1_STRING_to_UTF8(&raw, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, pos)));
  const OpensslBytesPtr utf8(raw);
  if (len > 0) {
    names.push_back(lowerCase(std::string_view(reinterpret_cast<char*>(utf8.get()), len)));
  }
  return names;
}

}  // namespace

std::shared_ptr<const CertificateStore> CertificateStore::load(
    const std::vector<CertificateSettings>& settings, std::vector<std::string>& errors,
    std::vector<std::string>& warnings) {
  auto store = std::make_shared<CertificateStore>();
  for (const CertificateSettings& s : settings) {
    LoadedCertificate c;
    c.cert_path = s.cert;
    c.key_path = s.key;
    bool chain_ok = loadChain(s.cert, c, errors);
    bool key_ok = loadKey(s.key, c, errors);
    if (!chain_ok || !key_ok) continue;
    if (X509_check_private_key(c.leaf.get(), c.key.get()) != 1) {
      errors.push_back(s.key + ": private key does not match certificate " + s.cert);
      ERR_clear_error();
      continue;
    }
    checkValidity(c, warnings);
    // Computes and caches the extensions now, on the main thread, rather
    // than under a lock in the first handshake of every worker.
    X509_check_purpose(c.leaf.get(), -1, 0);
    for (const X509Ptr& ca : c.chain) X509_check_purpose(ca.get(), -1, 0);
    c.names = dnsNames(c.leaf.get());
    store->certs_.push_back(std::move(c));
    store->addNames(store->certs_.size() - 1);
  }
  return store;
}

void CertificateStore::addNames(size_t index) {
  for (const std::string& name : certs_[index].names) {
    if (name.starts_with("*.") && name.size() > 2) {
      wildcard_.emplace(name.substr(2), index);
    } else if (name.find('*') == std::string::npos) {
      exact_.emplace(name, index);
    }
  }
}

size_t CertificateStore::indexFor(std::string_view server_name) const {
  std::string name = lowerCase(server_name);
  if (auto it = exact_.find(name); it != exact_.end()) return it->second;
  size_t dot = name.find('.');
  if (dot == std::string::npos || dot == 0) return 0;
  if (auto it = wildcard_.find(name.substr(dot + 1)); it != wildcard_.end()) return it->second;
  return 0;
}

}  // namespace sesame::tls
