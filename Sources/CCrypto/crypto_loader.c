#define _GNU_SOURCE
#include "shim.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

// The functions rolloutd calls, resolved from the loaded library.
static struct {
    EVP_MD_CTX *(*md_ctx_new)(void);
    void (*md_ctx_free)(EVP_MD_CTX *);
    int (*digest_init_ex)(EVP_MD_CTX *, const EVP_MD *, ENGINE *);
    int (*digest_update)(EVP_MD_CTX *, const void *, size_t);
    int (*digest_final_ex)(EVP_MD_CTX *, unsigned char *, unsigned int *);
    const EVP_MD *(*sha256)(void);
    const EVP_MD *(*md5)(void);
    const EVP_MD *(*sha1)(void);
    unsigned char *(*hmac)(const EVP_MD *, const void *, int, const unsigned char *, size_t, unsigned char *, unsigned int *);
} crypto;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[512];
static int loaded;

static int resolve(void *library, const char *name, void **slot) {
    *slot = dlsym(library, name);
    if (*slot == NULL) {
        const char *reason = dlerror();
        snprintf(load_error, sizeof load_error, "libcrypto.so.3 has no %s: %s", name, reason ? reason : "symbol not found");
        return -1;
    }
    return 0;
}

static void load(void) {
    void *library = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *reason = dlerror();
        snprintf(load_error, sizeof load_error, "cannot load libcrypto.so.3 (install libssl3): %s", reason ? reason : "unknown error");
        return;
    }
    if (resolve(library, "EVP_MD_CTX_new", (void **)&crypto.md_ctx_new) != 0
        || resolve(library, "EVP_MD_CTX_free", (void **)&crypto.md_ctx_free) != 0
        || resolve(library, "EVP_DigestInit_ex", (void **)&crypto.digest_init_ex) != 0
        || resolve(library, "EVP_DigestUpdate", (void **)&crypto.digest_update) != 0
        || resolve(library, "EVP_DigestFinal_ex", (void **)&crypto.digest_final_ex) != 0
        || resolve(library, "EVP_sha256", (void **)&crypto.sha256) != 0
        || resolve(library, "EVP_md5", (void **)&crypto.md5) != 0
        || resolve(library, "EVP_sha1", (void **)&crypto.sha1) != 0
        || resolve(library, "HMAC", (void **)&crypto.hmac) != 0) {
        return;  // the library stays mapped; nothing calls into it
    }
    loaded = 1;
}

int rollout_crypto_load(char *error, size_t error_size) {
    pthread_once(&load_once, load);
    if (loaded) return 0;
    if (error != NULL && error_size > 0) snprintf(error, error_size, "%s", load_error);
    return -1;
}

EVP_MD_CTX *rollout_EVP_MD_CTX_new(void) { return crypto.md_ctx_new(); }
void rollout_EVP_MD_CTX_free(EVP_MD_CTX *context) { crypto.md_ctx_free(context); }
int rollout_EVP_DigestInit_ex(EVP_MD_CTX *context, const EVP_MD *type, ENGINE *engine) {
    return crypto.digest_init_ex(context, type, engine);
}
int rollout_EVP_DigestUpdate(EVP_MD_CTX *context, const void *data, size_t count) {
    return crypto.digest_update(context, data, count);
}
int rollout_EVP_DigestFinal_ex(EVP_MD_CTX *context, unsigned char *digest, unsigned int *size) {
    return crypto.digest_final_ex(context, digest, size);
}
const EVP_MD *rollout_EVP_sha256(void) { return crypto.sha256(); }
const EVP_MD *rollout_EVP_md5(void) { return crypto.md5(); }
const EVP_MD *rollout_EVP_sha1(void) { return crypto.sha1(); }
unsigned char *rollout_HMAC(const EVP_MD *type, const void *key, int key_length, const unsigned char *data,
                            size_t data_length, unsigned char *digest, unsigned int *digest_length) {
    return crypto.hmac(type, key, key_length, data, data_length, digest, digest_length);
}
