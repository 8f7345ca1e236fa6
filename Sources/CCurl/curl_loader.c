#define _GNU_SOURCE
#include "shim.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

// The functions rolloutd calls, resolved from the loaded library.
static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    void (*easy_reset)(CURL *);
    CURLcode (*easy_perform)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
} curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[512];
static int loaded;

static int resolve(void *library, const char *name, void **slot) {
    *slot = dlsym(library, name);
    if (*slot == NULL) {
        const char *reason = dlerror();
        snprintf(load_error, sizeof load_error, "libcurl.so.4 has no %s: %s", name, reason ? reason : "symbol not found");
        return -1;
    }
    return 0;
}

static void load(void) {
    void *library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *reason = dlerror();
        snprintf(load_error, sizeof load_error, "cannot load libcurl.so.4 (install libcurl4): %s", reason ? reason : "unknown error");
        return;
    }
    if (resolve(library, "curl_global_init", (void **)&curl.global_init) != 0
        || resolve(library, "curl_easy_init", (void **)&curl.easy_init) != 0
        || resolve(library, "curl_easy_cleanup", (void **)&curl.easy_cleanup) != 0
        || resolve(library, "curl_easy_reset", (void **)&curl.easy_reset) != 0
        || resolve(library, "curl_easy_perform", (void **)&curl.easy_perform) != 0
        || resolve(library, "curl_easy_strerror", (void **)&curl.easy_strerror) != 0
        || resolve(library, "curl_slist_append", (void **)&curl.slist_append) != 0
        || resolve(library, "curl_slist_free_all", (void **)&curl.slist_free_all) != 0
        || resolve(library, "curl_easy_setopt", (void **)&curl.easy_setopt) != 0
        || resolve(library, "curl_easy_getinfo", (void **)&curl.easy_getinfo) != 0) {
        return;  // the library stays mapped; nothing calls into it
    }
    loaded = 1;
}

int rollout_curl_load(char *error, size_t error_size) {
    pthread_once(&load_once, load);
    if (loaded) return 0;
    if (error != NULL && error_size > 0) snprintf(error, error_size, "%s", load_error);
    return -1;
}

// Callers load first (CurlGlobal in CurlHTTP); these only forward.
CURLcode rollout_curl_global_init(long flags) { return curl.global_init(flags); }
CURL *rollout_curl_easy_init(void) { return curl.easy_init(); }
void rollout_curl_easy_cleanup(CURL *handle) { curl.easy_cleanup(handle); }
void rollout_curl_easy_reset(CURL *handle) { curl.easy_reset(handle); }
CURLcode rollout_curl_easy_perform(CURL *handle) { return curl.easy_perform(handle); }
const char *rollout_curl_easy_strerror(CURLcode code) { return curl.easy_strerror(code); }
struct curl_slist *rollout_curl_slist_append(struct curl_slist *list, const char *line) { return curl.slist_append(list, line); }
void rollout_curl_slist_free_all(struct curl_slist *list) { curl.slist_free_all(list); }

CURLcode rollout_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl.easy_setopt(handle, option, value);
}
CURLcode rollout_curl_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl.easy_setopt(handle, option, value);
}
CURLcode rollout_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl.easy_setopt(handle, option, value);
}
CURLcode rollout_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl.easy_setopt(handle, option, value);
}
CURLcode rollout_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl.easy_setopt(handle, option, value);
}
CURLcode rollout_curl_setopt_data_callback(CURL *handle, CURLoption option, rollout_curl_data_callback value) {
    return curl.easy_setopt(handle, option, value);
}
CURLcode rollout_curl_setopt_xferinfo_callback(CURL *handle, rollout_curl_xferinfo_callback value) {
    return curl.easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, value);
}
CURLcode rollout_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl.easy_getinfo(handle, info, value);
}
CURLcode rollout_curl_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl.easy_getinfo(handle, info, value);
}
CURLcode rollout_curl_getinfo_double(CURL *handle, CURLINFO info, double *value) {
    return curl.easy_getinfo(handle, info, value);
}
