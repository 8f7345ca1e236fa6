#ifndef ROLLOUT_CCRYPTO_SHIM_H
#define ROLLOUT_CCRYPTO_SHIM_H

// OpenSSL libcrypto: EVP digests and one-shot HMAC. Only non-deprecated OpenSSL 3 APIs are used.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>

#endif
