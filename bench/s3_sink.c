/*
 * s3-sink: a tiny S3-compatible sink on loopback for the upload benchmark (bench/README.md).
 *
 * It speaks just enough S3 (path-style, HTTP/1.1 keep-alive, no TLS, no auth check) for
 * multipart and single PUT uploads and throws every body away:
 *
 *   POST   /b/k?uploads                 CreateMultipartUpload   -> XML with an UploadId
 *   PUT    /b/k?partNumber=N&uploadId=U UploadPart              -> ETag
 *   POST   /b/k?uploadId=U              CompleteMultipartUpload -> XML with an ETag
 *   DELETE /b/k?uploadId=U              AbortMultipartUpload    -> 204 (404 NoSuchUpload)
 *   PUT    /b/k                         PutObject               -> ETag
 *   HEAD   /b/k, /b                     200 with the size of a stored object, 404 NoSuchKey
 *   DELETE /b/k                         DeleteObject            -> 204
 *   GET    /__sink/stats                the counters as one JSON object
 *
 * Bodies come as Content-Length, `Content-Encoding: aws-chunked` (signed or unsigned, with
 * trailers) or `Transfer-Encoding: chunked`, and `Expect: 100-continue` is answered. When a
 * request carries `x-amz-checksum-sha256` (as a header, or as a trailer announced in
 * `x-amz-trailer`) or a hex `x-amz-content-sha256` (a signed payload), the body is hashed with
 * SHA-256 as it arrives and compared: a mismatch answers 400 BadDigest (or
 * XAmzContentSHA256Mismatch) and is counted. Other checksum algorithms are counted as not
 * verified. Bodies nobody asks to verify are discarded in the kernel (recv MSG_TRUNC), so
 * the unverified path costs the sink almost nothing.
 *
 * --pace-mbps R paces every connection together to R MB/s (10^6 bytes/s): a token bucket
 * (GCRA, 2 MiB of burst) charged after each read, the reader sleeping while it is in debt,
 * so TCP's window pushes back on the senders as a link of that speed would.
 *
 * --no-verify turns verification off (every checksum is then counted as not verified), only
 * to see what verification costs the sink.
 *
 * One thread per connection, blocking sockets. Bounded: --max-seconds (default 3600) ends the
 * process, SIGTERM/SIGINT too; at most --max-connections at once; idle connections time out
 * after 60 s. On exit it prints the counters as one JSON line on stdout; the first stdout
 * line is "listening http://127.0.0.1:PORT".
 *
 * Build: gcc -O2 -pthread -o s3-sink bench/s3_sink.c -lcrypto   (make bench does it)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    HEADER_LIMIT = 64 << 10,  /* request line + headers, and one chunk-size or trailer line */
    BODY_BUFFER = 1 << 20,    /* recv size on the hashing path */
    PACED_READ = 256 << 10,   /* largest read while paced, so pacing stays smooth */
    MAX_HEADERS = 64,
    MAX_UPLOADS = 1024,
    MAX_OBJECTS = 1024,
    IDLE_TIMEOUT_SECS = 60,
};
static const double PACE_BURST_BYTES = 2.0 * (1 << 20);

/* ---- counters ---------------------------------------------------------------------------- */

static struct {
    _Atomic uint64_t connections, requests, body_bytes, hashed_bytes;
    _Atomic uint64_t creates, parts, completes, aborts, puts, heads, deletes, not_implemented;
    _Atomic uint64_t verified_sha256, bad_digest, bad_content_sha256, unverified_checksums;
    _Atomic uint64_t chunked_bodies, paced_sleeps;
} stats;

#define COUNT(field, n) atomic_fetch_add_explicit(&stats.field, (n), memory_order_relaxed)
#define READ(field) atomic_load_explicit(&stats.field, memory_order_relaxed)

static int stats_json(char *out, size_t size) {
    return snprintf(out, size,
        "{\"connections\":%" PRIu64 ",\"requests\":%" PRIu64 ",\"body_bytes\":%" PRIu64 ",\"hashed_bytes\":%" PRIu64
        ",\"creates\":%" PRIu64 ",\"parts\":%" PRIu64 ",\"completes\":%" PRIu64 ",\"aborts\":%" PRIu64
        ",\"puts\":%" PRIu64 ",\"heads\":%" PRIu64 ",\"deletes\":%" PRIu64 ",\"not_implemented\":%" PRIu64
        ",\"verified_sha256\":%" PRIu64 ",\"bad_digest\":%" PRIu64 ",\"bad_content_sha256\":%" PRIu64
        ",\"unverified_checksums\":%" PRIu64 ",\"chunked_bodies\":%" PRIu64 ",\"paced_sleeps\":%" PRIu64 "}",
        READ(connections), READ(requests), READ(body_bytes), READ(hashed_bytes), READ(creates), READ(parts),
        READ(completes), READ(aborts), READ(puts), READ(heads), READ(deletes), READ(not_implemented),
        READ(verified_sha256), READ(bad_digest), READ(bad_content_sha256), READ(unverified_checksums),
        READ(chunked_bodies), READ(paced_sleeps));
}

/* ---- pacing: one token bucket (GCRA) for every connection --------------------------------- */

static double pace_bytes_per_ns;        /* 0: unpaced */
static pthread_mutex_t pace_lock = PTHREAD_MUTEX_INITIALIZER;
static double pace_tat_ns;              /* theoretical arrival time of the next byte */

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Charges `bytes` just read; sleeps while the bucket is more than its burst in debt. */
static void pace(size_t bytes) {
    if (pace_bytes_per_ns <= 0 || bytes == 0) return;
    pthread_mutex_lock(&pace_lock);
    double now = now_ns();
    if (pace_tat_ns < now) pace_tat_ns = now;
    pace_tat_ns += (double)bytes / pace_bytes_per_ns;
    double wait = pace_tat_ns - now - PACE_BURST_BYTES / pace_bytes_per_ns;
    pthread_mutex_unlock(&pace_lock);
    if (wait > 0) {
        COUNT(paced_sleeps, 1);
        struct timespec ts = {(time_t)(wait / 1e9), (long)((uint64_t)wait % 1000000000ULL)};
        while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
    }
}

/* ---- state: multipart uploads in progress, and the sizes of stored objects ---------------- */

struct upload { bool active; char id[48]; char path[1300]; uint64_t parts, bytes; };
struct object { bool used; char path[1300]; uint64_t size; char etag[48]; };
static struct upload uploads[MAX_UPLOADS];
static struct object objects[MAX_OBJECTS];
static size_t next_object;
static uint64_t upload_counter;
static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;

static struct upload *find_upload(const char *id) {
    for (size_t i = 0; i < MAX_UPLOADS; i++)
        if (uploads[i].active && strcmp(uploads[i].id, id) == 0) return &uploads[i];
    return NULL;
}

static struct object *find_object(const char *path) {
    for (size_t i = 0; i < MAX_OBJECTS; i++)
        if (objects[i].used && strcmp(objects[i].path, path) == 0) return &objects[i];
    return NULL;
}

/* Records (or replaces) an object's size and etag; the oldest entry goes when the table is full. Locked by the caller. */
static void store_object(const char *path, uint64_t size, const char *etag) {
    struct object *object = find_object(path);
    if (!object) {
        object = &objects[next_object];
        next_object = (next_object + 1) % MAX_OBJECTS;
    }
    object->used = true;
    snprintf(object->path, sizeof object->path, "%s", path);
    object->size = size;
    snprintf(object->etag, sizeof object->etag, "%s", etag);
}

/* ---- connection: buffered reads --------------------------------------------------------- */

struct conn {
    int fd;
    char head[HEADER_LIMIT + 1];
    size_t start, end;                  /* buffered, unconsumed bytes: head[start, end) */
    char request_head[HEADER_LIMIT + 1]; /* the current request's head, parsed in place */
    unsigned char *body;                /* BODY_BUFFER bytes */
    EVP_MD_CTX *sha;
};

/* recv into the header buffer (compacting it first). -1 on EOF or error. */
static int fill(struct conn *c) {
    if (c->start > 0) {
        memmove(c->head, c->head + c->start, c->end - c->start);
        c->end -= c->start;
        c->start = 0;
    }
    if (c->end >= HEADER_LIMIT) return -1;
    ssize_t n;
    do n = recv(c->fd, c->head + c->end, HEADER_LIMIT - c->end, 0); while (n < 0 && errno == EINTR);
    if (n <= 0) return -1;
    pace((size_t)n);
    c->end += (size_t)n;
    return 0;
}

/* The next CRLF-terminated line (NUL-terminated in place, without the CRLF); NULL on EOF or a line over the limit. */
static char *read_line(struct conn *c) {
    for (;;) {
        char *line = c->head + c->start;
        char *lf = memchr(line, '\n', c->end - c->start);
        if (lf) {
            *lf = '\0';
            if (lf > line && lf[-1] == '\r') lf[-1] = '\0';
            c->start = (size_t)(lf - c->head) + 1;
            return line;
        }
        if (fill(c) < 0) return NULL;
    }
}

/* Consumes `length` body bytes: buffered ones first, then recv (into the body buffer when
 * hashing, discarded in the kernel otherwise). -1 on EOF or error. */
static int consume(struct conn *c, uint64_t length, bool hash) {
    size_t buffered = c->end - c->start;
    if (buffered > 0) {
        size_t take = buffered < length ? buffered : (size_t)length;
        if (hash) EVP_DigestUpdate(c->sha, c->head + c->start, take);
        c->start += take;
        length -= take;
        COUNT(body_bytes, take);
        if (hash) COUNT(hashed_bytes, take);
    }
    size_t cap = pace_bytes_per_ns > 0 ? PACED_READ : BODY_BUFFER;
    while (length > 0) {
        size_t want = length < cap ? (size_t)length : cap;
        ssize_t n;
        do n = recv(c->fd, c->body, want, hash ? 0 : MSG_TRUNC); while (n < 0 && errno == EINTR);
        if (n <= 0) return -1;
        if (hash) EVP_DigestUpdate(c->sha, c->body, (size_t)n);
        length -= (uint64_t)n;
        COUNT(body_bytes, (uint64_t)n);
        if (hash) COUNT(hashed_bytes, (uint64_t)n);
        pace((size_t)n);
    }
    return 0;
}

/* ---- requests ------------------------------------------------------------------------------ */

struct header { const char *name, *value; };
struct request {
    char *method, *path, *query;
    struct header headers[MAX_HEADERS];
    size_t header_count;
};

static const char *header(const struct request *r, const char *name) {
    for (size_t i = 0; i < r->header_count; i++)
        if (strcasecmp(r->headers[i].name, name) == 0) return r->headers[i].value;
    return NULL;
}

/* The value of `name` in the query string, URL-decoded into `out`; NULL when absent ("" for `?uploads`). */
static const char *query_param(const struct request *r, const char *name, char *out, size_t size) {
    size_t length = strlen(name);
    for (const char *p = r->query; p && *p;) {
        const char *amp = strchr(p, '&');
        const char *stop = amp ? amp : p + strlen(p);
        if ((size_t)(stop - p) >= length && strncmp(p, name, length) == 0 && (p[length] == '=' || p + length == stop)) {
            const char *value = p + length + (p[length] == '=');
            size_t n = 0;
            for (const char *v = value; v < stop && n + 1 < size; v++) {
                if (*v == '%' && v + 2 < stop && isxdigit((unsigned char)v[1]) && isxdigit((unsigned char)v[2])) {
                    char hex[3] = {v[1], v[2], 0};
                    out[n++] = (char)strtol(hex, NULL, 16);
                    v += 2;
                } else {
                    out[n++] = *v;
                }
            }
            out[n] = '\0';
            return out;
        }
        p = amp ? amp + 1 : stop;
    }
    return NULL;
}

static bool is_hex64(const char *s) {
    if (!s || strlen(s) != 64) return false;
    for (int i = 0; i < 64; i++) if (!isxdigit((unsigned char)s[i])) return false;
    return true;
}

static void trim(char *s) {
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    size_t lead = strspn(s, " \t");
    if (lead) memmove(s, s + lead, n - lead + 1);
}

static bool names_checksum(const char *name) {
    return strncasecmp(name, "x-amz-checksum-", 15) == 0 && strcasecmp(name, "x-amz-checksum-algorithm") != 0
        && strcasecmp(name, "x-amz-checksum-mode") != 0 && strcasecmp(name, "x-amz-checksum-type") != 0;
}

static int send_all(int fd, const char *data, size_t length) {
    while (length > 0) {
        ssize_t n = send(fd, data, length, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        data += n;
        length -= (size_t)n;
    }
    return 0;
}

/* One response; `extra` holds additional header lines, each ending in CRLF. */
static int respond(struct conn *c, int status, const char *reason, const char *extra, const char *body, bool head, bool close) {
    char buffer[HEADER_LIMIT];
    size_t body_length = body ? strlen(body) : 0;
    int n = snprintf(buffer, sizeof buffer,
        "HTTP/1.1 %d %s\r\nServer: s3-sink\r\nx-amz-request-id: sink%" PRIu64 "\r\n%s%s"
        "Content-Length: %zu\r\n%s\r\n",
        status, reason, READ(requests), extra ? extra : "",
        body_length && !(extra && strcasestr(extra, "content-type")) ? "Content-Type: application/xml\r\n" : "",
        body_length, close ? "Connection: close\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof buffer) return -1;
    if (send_all(c->fd, buffer, (size_t)n) < 0) return -1;
    if (!head && body_length && send_all(c->fd, body, body_length) < 0) return -1;
    return 0;
}

static int respond_error(struct conn *c, int status, const char *reason, const char *code, const char *message, bool head, bool close) {
    char body[1024];
    snprintf(body, sizeof body,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message><RequestId>sink%" PRIu64
        "</RequestId></Error>", code, message, READ(requests));
    return respond(c, status, reason, NULL, body, head, close);
}

/* `text` XML-escaped into `out`. */
static void xml_escape(const char *text, char *out, size_t size) {
    size_t n = 0;
    for (; *text && n + 7 < size; text++) {
        const char *entity = NULL;
        switch (*text) {
            case '&': entity = "&amp;"; break;
            case '<': entity = "&lt;"; break;
            case '>': entity = "&gt;"; break;
            case '"': entity = "&quot;"; break;
            case '\'': entity = "&apos;"; break;
        }
        if (entity) { size_t e = strlen(entity); memcpy(out + n, entity, e); n += e; }
        else out[n++] = *text;
    }
    out[n] = '\0';
}

/* The path split into a bucket and a (still percent-encoded) key; the key is "" for a bucket-level request. */
static void split_path(const char *path, char *bucket, size_t bucket_size, const char **key) {
    const char *p = path[0] == '/' ? path + 1 : path;
    const char *slash = strchr(p, '/');
    size_t length = slash ? (size_t)(slash - p) : strlen(p);
    if (length >= bucket_size) length = bucket_size - 1;
    memcpy(bucket, p, length);
    bucket[length] = '\0';
    *key = slash ? slash + 1 : "";
}

static void percent_decode(const char *in, char *out, size_t size) {
    size_t n = 0;
    for (; *in && n + 1 < size; in++) {
        if (*in == '%' && isxdigit((unsigned char)in[1]) && isxdigit((unsigned char)in[2])) {
            char hex[3] = {in[1], in[2], 0};
            out[n++] = (char)strtol(hex, NULL, 16);
            in += 2;
        } else {
            out[n++] = *in;
        }
    }
    out[n] = '\0';
}

struct body_result {
    uint64_t length;                    /* decoded bytes */
    bool hashed;
    unsigned char digest[32];
    char trailer_sha256[64];            /* x-amz-checksum-sha256 from the trailers, if any */
    bool trailer_other_checksum;
};

/* Reads a chunked body (aws-chunked or Transfer-Encoding: chunked: the same framing), then its trailers. */
static int read_chunked(struct conn *c, bool hash, struct body_result *out) {
    for (;;) {
        char *line = read_line(c);
        if (!line) return -1;
        char *end;
        errno = 0;
        unsigned long long size = strtoull(line, &end, 16);
        if (end == line || errno) return -1;
        if (size == 0) break;
        if (consume(c, size, hash) < 0) return -1;
        out->length += size;
        char *crlf = read_line(c);
        if (!crlf || *crlf) return -1;
    }
    for (;;) {
        char *line = read_line(c);
        if (!line) return -1;
        if (!*line) return 0;
        char *colon = strchr(line, ':');
        if (!colon) continue;
        *colon = '\0';
        char *value = colon + 1;
        trim(line);
        trim(value);
        if (strcasecmp(line, "x-amz-checksum-sha256") == 0) snprintf(out->trailer_sha256, sizeof out->trailer_sha256, "%s", value);
        else if (names_checksum(line)) out->trailer_other_checksum = true;
    }
}

/* Reads the body the headers announce (hashing it when asked). -1: the connection is unusable. */
static int read_body(struct conn *c, const struct request *r, bool hash, struct body_result *out) {
    memset(out, 0, sizeof *out);
    if (hash) EVP_DigestInit_ex(c->sha, EVP_sha256(), NULL);
    const char *encoding = header(r, "content-encoding");
    const char *transfer = header(r, "transfer-encoding");
    const char *length_text = header(r, "content-length");
    int status;
    if (transfer && strcasestr(transfer, "chunked")) {
        COUNT(chunked_bodies, 1);
        status = read_chunked(c, hash, out);
    } else if (encoding && strcasestr(encoding, "aws-chunked")) {
        COUNT(chunked_bodies, 1);
        status = read_chunked(c, hash, out);   /* the framing ends exactly at Content-Length */
    } else {
        uint64_t length = length_text ? strtoull(length_text, NULL, 10) : 0;
        status = consume(c, length, hash);
        out->length = length;
    }
    if (status == 0 && hash) {
        unsigned int size = 32;
        EVP_DigestFinal_ex(c->sha, out->digest, &size);
        out->hashed = true;
    }
    return status;
}

/* Compares the body's SHA-256 with what the request claimed. Returns NULL when it matches
 * (or nothing was claimed), else the S3 error code. */
static const char *check_digests(const struct request *r, const struct body_result *body) {
    const char *content = header(r, "x-amz-content-sha256");
    const char *claimed = header(r, "x-amz-checksum-sha256");
    if (!claimed && body->trailer_sha256[0]) claimed = body->trailer_sha256;
    bool other = body->trailer_other_checksum;
    for (size_t i = 0; i < r->header_count; i++)
        if (names_checksum(r->headers[i].name) && strcasecmp(r->headers[i].name, "x-amz-checksum-sha256") != 0) other = true;
    if (other || (claimed && !body->hashed)) COUNT(unverified_checksums, 1);
    if (!body->hashed) return NULL;
    if (is_hex64(content)) {
        char hex[65];
        for (int i = 0; i < 32; i++) sprintf(hex + 2 * i, "%02x", body->digest[i]);
        if (strcasecmp(hex, content) != 0) { COUNT(bad_content_sha256, 1); return "XAmzContentSHA256Mismatch"; }
    }
    if (claimed) {
        char b64[64];
        EVP_EncodeBlock((unsigned char *)b64, body->digest, 32);
        char copy[128];
        snprintf(copy, sizeof copy, "%s", claimed);
        trim(copy);
        if (strcmp(b64, copy) != 0) { COUNT(bad_digest, 1); return "BadDigest"; }
        COUNT(verified_sha256, 1);
    }
    return NULL;
}

static bool verify = true;             /* --no-verify: hash nothing (diagnosis only) */

/* Whether the body must be hashed: a SHA-256 checksum (header or announced trailer) or a signed payload. */
static bool wants_hash(const struct request *r) {
    if (!verify) return false;
    if (header(r, "x-amz-checksum-sha256") || is_hex64(header(r, "x-amz-content-sha256"))) return true;
    const char *trailer = header(r, "x-amz-trailer");
    return trailer && strcasestr(trailer, "x-amz-checksum-sha256");
}

/* A stored body's etag (unquoted): the first 16 bytes of its SHA-256 in hex when it was hashed, else a serial number. */
static void body_etag(const struct body_result *body, uint64_t serial, char *etag, size_t size) {
    if (body->hashed) {
        for (int i = 0; i < 16 && (size_t)(2 * i + 2) < size; i++) sprintf(etag + 2 * i, "%02x", body->digest[i]);
    } else {
        snprintf(etag, size, "%032" PRIx64, serial);
    }
}

/* Handles one request whose headers were parsed. -1: close the connection. */
static int handle(struct conn *c, struct request *r, bool close) {
    COUNT(requests, 1);
    const char *expect = header(r, "expect");
    if (expect && strcasecmp(expect, "100-continue") == 0) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (send_all(c->fd, cont, sizeof cont - 1) < 0) return -1;
    }
    bool head = strcmp(r->method, "HEAD") == 0;
    char bucket[256], path[1300], key[1024], value[256];
    const char *raw_key;
    split_path(r->path, bucket, sizeof bucket, &raw_key);
    percent_decode(raw_key, key, sizeof key);
    snprintf(path, sizeof path, "%s/%s", bucket, key);

    if (strcmp(r->method, "GET") == 0 && strcmp(r->path, "/__sink/stats") == 0) {
        char json[2048];
        stats_json(json, sizeof json);
        return respond(c, 200, "OK", "Content-Type: application/json\r\n", json, false, close);
    }

    bool hash = wants_hash(r);
    struct body_result body;
    if (read_body(c, r, hash, &body) < 0) return -1;
    const char *bad = check_digests(r, &body);
    if (bad) {
        const char *message = strcmp(bad, "BadDigest") == 0
            ? "The x-amz-checksum-sha256 you specified did not match the calculated checksum."
            : "The provided 'x-amz-content-sha256' header does not match what was computed.";
        return respond_error(c, 400, "Bad Request", bad, message, head, close);
    }

    char escaped_key[2048], etag[48], extra[512], xml[8192];
    xml_escape(key, escaped_key, sizeof escaped_key);
    const char *checksum = header(r, "x-amz-checksum-sha256");
    char echo[160] = "";
    if (checksum) snprintf(echo, sizeof echo, "x-amz-checksum-sha256: %s\r\n", checksum);

    if (strcmp(r->method, "POST") == 0 && query_param(r, "uploads", value, sizeof value)) {
        COUNT(creates, 1);
        pthread_mutex_lock(&state_lock);
        struct upload *slot = NULL;
        for (size_t i = 0; i < MAX_UPLOADS && !slot; i++) if (!uploads[i].active) slot = &uploads[i];
        if (!slot) {
            pthread_mutex_unlock(&state_lock);
            return respond_error(c, 503, "Slow Down", "SlowDown", "Too many multipart uploads in progress.", head, close);
        }
        upload_counter++;
        snprintf(slot->id, sizeof slot->id, "sink-%" PRIu64 "-%08lx", upload_counter, (unsigned long)random());
        snprintf(slot->path, sizeof slot->path, "%s", path);
        slot->parts = slot->bytes = 0;
        slot->active = true;
        char id[48];
        snprintf(id, sizeof id, "%s", slot->id);
        pthread_mutex_unlock(&state_lock);
        const char *algorithm = header(r, "x-amz-checksum-algorithm");
        snprintf(extra, sizeof extra, "%s%s%s", algorithm ? "x-amz-checksum-algorithm: " : "", algorithm ? algorithm : "",
                 algorithm ? "\r\n" : "");
        snprintf(xml, sizeof xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<Bucket>%s</Bucket><Key>%s</Key><UploadId>%s</UploadId></InitiateMultipartUploadResult>", bucket, escaped_key, id);
        return respond(c, 200, "OK", extra, xml, head, close);
    }

    char upload_id[64];
    if (query_param(r, "uploadId", upload_id, sizeof upload_id)) {
        pthread_mutex_lock(&state_lock);
        struct upload *upload = find_upload(upload_id);
        if (!upload || strcmp(upload->path, path) != 0) {
            pthread_mutex_unlock(&state_lock);
            return respond_error(c, 404, "Not Found", "NoSuchUpload", "The specified upload does not exist.", head, close);
        }
        if (strcmp(r->method, "PUT") == 0 && query_param(r, "partNumber", value, sizeof value)) {
            upload->parts++;
            upload->bytes += body.length;
            uint64_t serial = upload->parts;
            pthread_mutex_unlock(&state_lock);
            COUNT(parts, 1);
            body_etag(&body, serial, etag, sizeof etag);
            snprintf(extra, sizeof extra, "ETag: \"%s\"\r\n%s", etag, echo);
            return respond(c, 200, "OK", extra, NULL, head, close);
        }
        if (strcmp(r->method, "POST") == 0) {
            uint64_t parts = upload->parts, bytes = upload->bytes;
            snprintf(etag, sizeof etag, "%016" PRIx64 "%016" PRIx64 "-%" PRIu64, bytes, (uint64_t)upload_counter, parts);
            upload->active = false;
            store_object(path, bytes, etag);
            pthread_mutex_unlock(&state_lock);
            COUNT(completes, 1);
            snprintf(xml, sizeof xml,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                "<Location>http://127.0.0.1/%s/%s</Location><Bucket>%s</Bucket><Key>%s</Key><ETag>&quot;%s&quot;</ETag>"
                "</CompleteMultipartUploadResult>", bucket, escaped_key, bucket, escaped_key, etag);
            return respond(c, 200, "OK", NULL, xml, head, close);
        }
        if (strcmp(r->method, "DELETE") == 0) {
            upload->active = false;
            pthread_mutex_unlock(&state_lock);
            COUNT(aborts, 1);
            return respond(c, 204, "No Content", NULL, NULL, head, close);
        }
        pthread_mutex_unlock(&state_lock);
    } else if (strcmp(r->method, "PUT") == 0 && key[0]) {
        COUNT(puts, 1);
        body_etag(&body, READ(puts), etag, sizeof etag);
        pthread_mutex_lock(&state_lock);
        store_object(path, body.length, etag);
        pthread_mutex_unlock(&state_lock);
        snprintf(extra, sizeof extra, "ETag: \"%s\"\r\n%s", etag, echo);
        return respond(c, 200, "OK", extra, NULL, head, close);
    } else if (head) {
        COUNT(heads, 1);
        if (!key[0]) return respond(c, 200, "OK", NULL, NULL, true, close);
        pthread_mutex_lock(&state_lock);
        struct object *object = find_object(path);
        if (object) {
            /* A HEAD answer announces the object's length and has no body. */
            char line[1024];
            int n = snprintf(line, sizeof line,
                "HTTP/1.1 200 OK\r\nServer: s3-sink\r\nETag: \"%s\"\r\nContent-Length: %" PRIu64 "\r\n%s\r\n",
                object->etag, object->size, close ? "Connection: close\r\n" : "");
            pthread_mutex_unlock(&state_lock);
            return send_all(c->fd, line, (size_t)n);
        }
        pthread_mutex_unlock(&state_lock);
        return respond_error(c, 404, "Not Found", "NoSuchKey", "The specified key does not exist.", true, close);
    } else if (strcmp(r->method, "DELETE") == 0 && key[0]) {
        COUNT(deletes, 1);
        pthread_mutex_lock(&state_lock);
        struct object *object = find_object(path);
        if (object) object->used = false;
        pthread_mutex_unlock(&state_lock);
        return respond(c, 204, "No Content", NULL, NULL, head, close);
    }
    COUNT(not_implemented, 1);
    return respond_error(c, 501, "Not Implemented", "NotImplemented",
                         "s3-sink answers only uploads, HEAD and DELETE; it keeps no bodies.", head, close);
}

/* Reads the next request head (skipping stray CRLFs between requests), copies it out of the
 * read buffer (reading a chunked body later compacts that buffer) and parses the copy. -1: EOF
 * or a malformed head. */
static int read_head(struct conn *c, struct request *r) {
    size_t head_length;
    for (;;) {
        while (c->start < c->end && (c->head[c->start] == '\r' || c->head[c->start] == '\n')) c->start++;
        const char *data = c->head + c->start;
        const char *stop = memmem(data, c->end - c->start, "\r\n\r\n", 4);
        if (stop) { head_length = (size_t)(stop - data) + 4; break; }
        if (fill(c) < 0) return -1;
    }
    memcpy(c->request_head, c->head + c->start, head_length);
    c->request_head[head_length] = '\0';
    c->start += head_length;

    memset(r, 0, sizeof *r);
    char *cursor = c->request_head;
    char *line = strsep(&cursor, "\n");
    line[strcspn(line, "\r")] = '\0';
    char *space = strchr(line, ' ');
    if (!space) return -1;
    *space = '\0';
    r->method = line;
    r->path = space + 1;
    space = strchr(r->path, ' ');
    if (!space) return -1;
    *space = '\0';
    char *question = strchr(r->path, '?');
    if (question) { *question = '\0'; r->query = question + 1; }
    while ((line = strsep(&cursor, "\n")) != NULL) {
        line[strcspn(line, "\r")] = '\0';
        if (!*line) continue;
        if (r->header_count == MAX_HEADERS) return -1;
        char *colon = strchr(line, ':');
        if (!colon) return -1;
        *colon = '\0';
        char *value = colon + 1;
        while (*value == ' ' || *value == '\t') value++;
        size_t n = strlen(value);
        while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t')) value[--n] = '\0';
        r->headers[r->header_count++] = (struct header){line, value};
    }
    return 0;
}

static _Atomic int open_connections;
static int max_connections = 256;

static void *serve(void *arg) {
    struct conn *c = arg;
    struct request r;
    for (;;) {
        if (read_head(c, &r) < 0) break;
        const char *connection = header(&r, "connection");
        bool close = connection && strcasecmp(connection, "close") == 0;
        if (handle(c, &r, close) < 0 || close) break;
    }
    close(c->fd);
    EVP_MD_CTX_free(c->sha);
    free(c->body);
    free(c);
    atomic_fetch_sub(&open_connections, 1);
    return NULL;
}

/* ---- main ---------------------------------------------------------------------------------- */

static volatile sig_atomic_t stopping;
static void on_signal(int signal_number) { (void)signal_number; stopping = 1; }

static void usage(FILE *out) {
    fprintf(out,
        "usage: s3-sink [--port N] [--pace-mbps R] [--max-seconds S] [--max-connections N] [--no-verify]\n"
        "  --port N             loopback port (default 0: any free port; the first stdout line names it)\n"
        "  --pace-mbps R        pace all connections together to R MB/s (10^6 bytes/s); 0: unpaced (default)\n"
        "  --max-seconds S      exit after S seconds (default 3600)\n"
        "  --max-connections N  connections served at once (default 256)\n"
        "  --no-verify          hash no body, check no checksum (to see what verification costs)\n");
}

int main(int argc, char **argv) {
    int port = 0;
    double pace_mbps = 0, max_seconds = 3600;
    for (int i = 1; i < argc; i++) {
        const char *name = argv[i];
        if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) { usage(stdout); return 0; }
        if (strcmp(name, "--no-verify") == 0) { verify = false; continue; }
        if (i + 1 >= argc) { usage(stderr); return 2; }
        const char *text = argv[++i];
        char *end;
        double number = strtod(text, &end);
        if (*end || number < 0) { fprintf(stderr, "s3-sink: %s needs a non-negative number, not \"%s\"\n", name, text); return 2; }
        if (strcmp(name, "--port") == 0 && number <= 65535) port = (int)number;
        else if (strcmp(name, "--pace-mbps") == 0) pace_mbps = number;
        else if (strcmp(name, "--max-seconds") == 0 && number > 0) max_seconds = number;
        else if (strcmp(name, "--max-connections") == 0 && number >= 1) max_connections = (int)number;
        else { usage(stderr); return 2; }
    }
    pace_bytes_per_ns = pace_mbps * 1e6 / 1e9;
    srandom((unsigned)time(NULL) ^ (unsigned)getpid());

    struct sigaction action = {.sa_handler = on_signal};
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    signal(SIGPIPE, SIG_IGN);

    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof address) < 0 || listen(listener, 128) < 0) {
        perror("s3-sink: listen");
        return 1;
    }
    socklen_t length = sizeof address;
    getsockname(listener, (struct sockaddr *)&address, &length);
    printf("listening http://127.0.0.1:%d\n", ntohs(address.sin_port));
    fflush(stdout);

    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attributes, 256 << 10);
    double deadline = now_ns() + max_seconds * 1e9;
    while (!stopping && now_ns() < deadline) {
        struct pollfd waiting = {.fd = listener, .events = POLLIN};
        if (poll(&waiting, 1, 200) <= 0) continue;
        int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) continue;
        if (atomic_fetch_add(&open_connections, 1) >= max_connections) {
            atomic_fetch_sub(&open_connections, 1);
            close(fd);
            continue;
        }
        COUNT(connections, 1);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct timeval idle = {.tv_sec = IDLE_TIMEOUT_SECS};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &idle, sizeof idle);
        struct conn *c = calloc(1, sizeof *c);
        if (c) {
            c->fd = fd;
            c->body = malloc(BODY_BUFFER);
            c->sha = EVP_MD_CTX_new();
        }
        pthread_t thread;
        if (!c || !c->body || !c->sha || pthread_create(&thread, &attributes, serve, c) != 0) {
            if (c) { EVP_MD_CTX_free(c->sha); free(c->body); free(c); }
            close(fd);
            atomic_fetch_sub(&open_connections, 1);
        }
    }
    char json[2048];
    stats_json(json, sizeof json);
    printf("%s\n", json);
    fflush(stdout);
    return 0;
}
