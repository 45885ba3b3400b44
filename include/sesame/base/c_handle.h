// One owner for every C handle: unique_ptr aliases that call the library's free.
#pragma once

#include <memory>

struct event_base;
struct event;
struct evconnlistener;
struct evbuffer;
struct ssl_ctx_st;
struct ssl_st;
struct x509_st;
struct evp_pkey_st;

extern "C" {
void event_base_free(struct event_base*);
void event_free(struct event*);
void evconnlistener_free(struct evconnlistener*);
void evbuffer_free(struct evbuffer*);
void SSL_CTX_free(struct ssl_ctx_st*);
void SSL_free(struct ssl_st*);
void X509_free(struct x509_st*);
void EVP_PKEY_free(struct evp_pkey_st*);
}

namespace sesame {

template <auto Free>
struct CFree {
  template <typename T>
  void operator()(T* p) const noexcept {
    if (p != nullptr) Free(p);
  }
};

using EventBasePtr = std::unique_ptr<event_base, CFree<event_base_free>>;
using EventPtr = std::unique_ptr<event, CFree<event_free>>;
using ListenerPtr = std::unique_ptr<evconnlistener, CFree<evconnlistener_free>>;
using EvBufferPtr = std::unique_ptr<evbuffer, CFree<evbuffer_free>>;
using SslCtxPtr = std::unique_ptr<ssl_ctx_st, CFree<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<ssl_st, CFree<SSL_free>>;
using X509Ptr = std::unique_ptr<x509_st, CFree<X509_free>>;
using EvpPkeyPtr = std::unique_ptr<evp_pkey_st, CFree<EVP_PKEY_free>>;

}  // namespace sesame
