// One owner for every C handle: unique_ptr aliases that call the library's free.
// No raw *_free call lives outside this header; a hand-off of ownership to a
// library is one release() with a comment at the call site.
#pragma once

#include <netdb.h>

#include <memory>

struct event_base;
struct event;
struct event_config;
struct evconnlistener;
struct evbuffer;
struct bufferevent;
struct ssl_ctx_st;
struct ssl_st;
struct x509_st;
struct evp_pkey_st;
struct evp_pkey_ctx_st;
struct evp_mac_st;
struct evp_mac_ctx_st;
struct evp_kdf_st;
struct evp_kdf_ctx_st;
struct evp_cipher_st;
struct evp_cipher_ctx_st;
struct evp_md_ctx_st;
struct ECDSA_SIG_st;
struct bignum_st;
struct bio_st;
struct bignum_st;
struct evp_md_ctx_st;
struct ECDSA_SIG_st;
struct stack_st_GENERAL_NAME;
struct redisContext;
struct redisReader;
struct redisReply;

extern "C" {
void event_base_free(struct event_base*);
void event_free(struct event*);
void event_config_free(struct event_config*);
void evconnlistener_free(struct evconnlistener*);
void evbuffer_free(struct evbuffer*);
void bufferevent_free(struct bufferevent*);
void SSL_CTX_free(struct ssl_ctx_st*);
void SSL_free(struct ssl_st*);
void X509_free(struct x509_st*);
void EVP_PKEY_free(struct evp_pkey_st*);
void EVP_PKEY_CTX_free(struct evp_pkey_ctx_st*);
void EVP_MAC_free(struct evp_mac_st*);
void EVP_MAC_CTX_free(struct evp_mac_ctx_st*);
void EVP_KDF_free(struct evp_kdf_st*);
void EVP_KDF_CTX_free(struct evp_kdf_ctx_st*);
void EVP_CIPHER_free(struct evp_cipher_st*);
void EVP_CIPHER_CTX_free(struct evp_cipher_ctx_st*);
void EVP_MD_CTX_free(struct evp_md_ctx_st*);
void ECDSA_SIG_free(struct ECDSA_SIG_st*);
void BN_free(struct bignum_st*);
int BIO_free(struct bio_st*);
void BN_free(struct bignum_st*);
void EVP_MD_CTX_free(struct evp_md_ctx_st*);
void ECDSA_SIG_free(struct ECDSA_SIG_st*);
void GENERAL_NAMES_free(struct stack_st_GENERAL_NAME*);
void CRYPTO_free(void*, const char*, int);
void redisFree(struct redisContext*);
void redisReaderFree(struct redisReader*);
void freeReplyObject(void*);
void redisFreeCommand(char*);
}

namespace sesame {

template <auto Free>
struct CFree {
  template <typename T>
  void operator()(T* p) const noexcept {
    if (p != nullptr) Free(p);
  }
};

// OPENSSL_free is a macro over CRYPTO_free; memory OpenSSL allocated for the
// caller (ASN1_STRING_to_UTF8 output) goes back through it.
inline void opensslFree(void* p) {
  CRYPTO_free(p, __FILE__, __LINE__);
}

using EventBasePtr = std::unique_ptr<event_base, CFree<event_base_free>>;
using EventPtr = std::unique_ptr<event, CFree<event_free>>;
using EventConfigPtr = std::unique_ptr<event_config, CFree<event_config_free>>;
using ListenerPtr = std::unique_ptr<evconnlistener, CFree<evconnlistener_free>>;
using EvBufferPtr = std::unique_ptr<evbuffer, CFree<evbuffer_free>>;
using BufferEventPtr = std::unique_ptr<bufferevent, CFree<bufferevent_free>>;
using SslCtxPtr = std::unique_ptr<ssl_ctx_st, CFree<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<ssl_st, CFree<SSL_free>>;
using X509Ptr = std::unique_ptr<x509_st, CFree<X509_free>>;
using EvpPkeyPtr = std::unique_ptr<evp_pkey_st, CFree<EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<evp_pkey_ctx_st, CFree<EVP_PKEY_CTX_free>>;
using EvpKdfPtr = std::unique_ptr<evp_kdf_st, CFree<EVP_KDF_free>>;
using EvpKdfCtxPtr = std::unique_ptr<evp_kdf_ctx_st, CFree<EVP_KDF_CTX_free>>;
using EvpCipherPtr = std::unique_ptr<evp_cipher_st, CFree<EVP_CIPHER_free>>;
using EvpCipherCtxPtr = std::unique_ptr<evp_cipher_ctx_st, CFree<EVP_CIPHER_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<evp_md_ctx_st, CFree<EVP_MD_CTX_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG_st, CFree<ECDSA_SIG_free>>;
using BignumPtr = std::unique_ptr<bignum_st, CFree<BN_free>>;
using BioPtr = std::unique_ptr<bio_st, CFree<BIO_free>>;
using BignumPtr = std::unique_ptr<bignum_st, CFree<BN_free>>;
using EvpMdCtxPtr = std::unique_ptr<evp_md_ctx_st, CFree<EVP_MD_CTX_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG_st, CFree<ECDSA_SIG_free>>;
using GeneralNamesPtr = std::unique_ptr<stack_st_GENERAL_NAME, CFree<GENERAL_NAMES_free>>;
using OpensslBytesPtr = std::unique_ptr<unsigned char, CFree<opensslFree>>;
using AddrInfoPtr = std::unique_ptr<addrinfo, CFree<freeaddrinfo>>;
using RedisContextPtr = std::unique_ptr<redisContext, CFree<redisFree>>;
using RedisReaderPtr = std::unique_ptr<redisReader, CFree<redisReaderFree>>;
using RedisReplyPtr = std::unique_ptr<redisReply, CFree<freeReplyObject>>;
// A command formatted by redisFormatCommandArgv.
using RedisCommandPtr = std::unique_ptr<char, CFree<redisFreeCommand>>;

}  // namespace sesame
