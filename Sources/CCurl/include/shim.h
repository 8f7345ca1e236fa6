#ifndef ROLLOUT_CCURL_SHIM_H
#define ROLLOUT_CCURL_SHIM_H

// libcurl's types and constants only: rolloutd does not link libcurl. It loads it with dlopen
// when the first HTTP client is made (rollout_curl_load), so a daemon on the local provider never
// maps libcurl and its ~30 dependencies (about 4 MiB of RSS). Every call goes through the
// rollout_curl_* functions below, which call the loaded library.
#include <curl/curl.h>
#include <stddef.h>

/// Loads libcurl.so.4 and resolves what rolloutd calls; once per process, thread-safe. Returns 0,
/// or -1 with the reason (dlerror's text) in `error`.
int rollout_curl_load(char *error, size_t error_size);

CURLcode rollout_curl_global_init(long flags);
CURL *rollout_curl_easy_init(void);
void rollout_curl_easy_cleanup(CURL *handle);
void rollout_curl_easy_reset(CURL *handle);
CURLcode rollout_curl_easy_perform(CURL *handle);
const char *rollout_curl_easy_strerror(CURLcode code);
struct curl_slist *rollout_curl_slist_append(struct curl_slist *list, const char *line);
void rollout_curl_slist_free_all(struct curl_slist *list);

// curl_easy_setopt and curl_easy_getinfo are variadic; Swift cannot call them directly.
// One typed wrapper per argument kind.
CURLcode rollout_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode rollout_curl_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
CURLcode rollout_curl_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode rollout_curl_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode rollout_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
typedef size_t (*rollout_curl_data_callback)(char *buffer, size_t size, size_t count, void *context);
CURLcode rollout_curl_setopt_data_callback(CURL *handle, CURLoption option, rollout_curl_data_callback value);
typedef int (*rollout_curl_xferinfo_callback)(void *context, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);
CURLcode rollout_curl_setopt_xferinfo_callback(CURL *handle, rollout_curl_xferinfo_callback value);
CURLcode rollout_curl_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode rollout_curl_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value);
CURLcode rollout_curl_getinfo_double(CURL *handle, CURLINFO info, double *value);

#endif
