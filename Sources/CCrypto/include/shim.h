#ifndef ROLLOUT_CCRYPTO_SHIM_H
#define ROLLOUT_CCRYPTO_SHIM_H

// OpenSSL libcrypto's types only: rolloutd does not link libcrypto. The first digest loads it with
// dlopen (rollout_crypto_load), so a daemon that has not hashed anything yet (an idle one on the
// local provider) does not map it: about 1.4 MiB of RSS, most of it the loader's work on
// libcrypto's own relocations and symbol tables. Every call goes through the rollout_* functions
// below. Only non-deprecated OpenSSL 3 APIs are used.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/evp.h>
#include <stddef.h>

/// Loads libcrypto.so.3 and resolves what rolloutd calls; once per process, thread-safe. Returns
/// 0, or -1 with the reason (dlerror's text) in `error`.
int rollout_crypto_load(char *error, size_t error_size);

// Callers load first (RolloutCrypto's CryptoLibrary); these only forward.
EVP_MD_CTX *rollout_EVP_MD_CTX_new(void);
void rollout_EVP_MD_CTX_free(EVP_MD_CTX *context);
int rollout_EVP_DigestInit_ex(EVP_MD_CTX *context, const EVP_MD *type, ENGINE *engine);
int rollout_EVP_DigestUpdate(EVP_MD_CTX *context, const void *data, size_t count);
int rollout_EVP_DigestFinal_ex(EVP_MD_CTX *context, unsigned char *digest, unsigned int *size);
const EVP_MD *rollout_EVP_sha256(void);
const EVP_MD *rollout_EVP_md5(void);
const EVP_MD *rollout_EVP_sha1(void);
unsigned char *rollout_HMAC(const EVP_MD *type, const void *key, int key_length, const unsigned char *data,
                            size_t data_length, unsigned char *digest, unsigned int *digest_length);

#endif
